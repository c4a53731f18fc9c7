/**
 * Terraform with the AWS provider 5.100 from the machine's filesystem mirror (no download): apply, a second plan
 * that must report no changes, destroy. A missing terraform binary or provider skips with a visible SKIPPED line.
 */
import { expect } from 'chai';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { dropAccount, endpoint, execFileAsync, execIn, newAccount, region, type TestAccount } from '../test/support/live';
import { HttpSink, verifySnsSignature } from '../test/support/receivers';

const MIRROR = process.env.OARCLOUD_TF_MIRROR ?? '/opt/tf-plugins';
const PROVIDER = path.join(MIRROR, 'registry.terraform.io', 'hashicorp', 'aws', '5.100.0');

function terraform(dir: string, args: string[], vars: Record<string, string>) {
  const r = spawnSync('terraform', args, {
    cwd: dir,
    encoding: 'utf8',
    timeout: 600_000,
    env: {
      ...process.env,
      TF_CLI_CONFIG_FILE: path.join(dir, 'terraformrc'),
      TF_IN_AUTOMATION: '1',
      CHECKPOINT_DISABLE: '1',
      ...Object.fromEntries(Object.entries(vars).map(([k, v]) => [`TF_VAR_${k}`, v])),
    },
  });
  return { code: r.status ?? 1, out: `${r.stdout}\n${r.stderr}` };
}

/** A working directory with the configuration `name` (compat-tests/<name>/main.tf) and the mirror-only CLI config. */
function workingDir(name: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'oarcloud-tf-'));
  copyFileSync(path.join(__dirname, '..', '..', 'compat-tests', name, 'main.tf'), path.join(dir, 'main.tf'));
  writeFileSync(
    path.join(dir, 'terraformrc'),
    `provider_installation {
  filesystem_mirror {
    path    = "${MIRROR}"
    include = ["registry.terraform.io/hashicorp/aws"]
  }
  direct { exclude = ["registry.terraform.io/hashicorp/aws"] }
}
`,
  );
  return dir;
}

const available = () => spawnSync('terraform', ['version']).status === 0 && existsSync(PROVIDER);

/**
 * Registers a describe block's hooks: before, a new account and a working directory with `config` (skipped without
 * terraform); after, a destroy (if a test left anything) and the account dropped. Its state, once before ran.
 */
interface Workspace {
  account: TestAccount | undefined;
  dir: string;
  vars: Record<string, string>;
}

function workspace(config: string, prefix: string, extraVars: (dir: string) => Promise<Record<string, string>> = async () => ({})): Workspace {
  const ws: Workspace = { account: undefined, dir: '', vars: {} };
  before(async function () {
    if (!available()) {
      console.log(`      SKIPPED: terraform or the aws provider 5.100 is not on this machine (looked in ${MIRROR})`);
      return this.skip();
    }
    ws.account = await newAccount(prefix);
    ws.dir = workingDir(config);
    ws.vars = { endpoint, region, access_key: ws.account.accessKeyId, secret_key: ws.account.secretAccessKey, ...(await extraVars(ws.dir)) };
  });
  after(async () => {
    if (ws.dir && ws.account) terraform(ws.dir, ['destroy', '-auto-approve', '-no-color'], ws.vars);
    await dropAccount(ws.account);
  });
  return ws;
}

/**
 * init, apply, `between` (checks on the applied outputs), a second plan that must report no changes, and a destroy
 * of `resources` resources.
 */
async function roundTrip(ws: Workspace, resources: number, between: (outputs: Record<string, { value: string }>) => Promise<void>): Promise<void> {
  const init = terraform(ws.dir, ['init', '-no-color', '-input=false'], ws.vars);
  expect(init.code, init.out).to.equal(0);
  const apply = terraform(ws.dir, ['apply', '-auto-approve', '-no-color', '-input=false'], ws.vars);
  expect(apply.code, apply.out).to.equal(0);
  await between(JSON.parse(terraform(ws.dir, ['output', '-json'], ws.vars).out.split('\n\n')[0]));
  const plan = terraform(ws.dir, ['plan', '-detailed-exitcode', '-no-color', '-input=false'], ws.vars);
  expect(plan.code, `the second plan must show no changes:\n${plan.out}`).to.equal(0);
  expect(plan.out).to.contain('No changes.');
  const destroy = terraform(ws.dir, ['destroy', '-auto-approve', '-no-color', '-input=false'], ws.vars);
  expect(destroy.code, destroy.out).to.equal(0);
  expect(destroy.out).to.contain(`Destroy complete! Resources: ${resources} destroyed`);
}

describe('compat: Terraform AWS provider 5.100 (real instances)', function () {
  this.timeout(600_000);
  const ws = workspace('terraform', 'tf', async (dir) => {
    await execFileAsync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path.join(dir, 'id')]);
    return { public_key: readFileSync(path.join(dir, 'id.pub'), 'utf8').trim() };
  });

  it('init, apply, plan with no changes, destroy', () =>
    roundTrip(ws, 3, async (outputs) => {
      const instanceId = outputs.instance_id.value;
      expect(instanceId).to.match(/^i-/);
      expect(outputs.image_id.value).to.match(/^ami-/);
      expect(outputs.private_ip.value).to.match(/^\d+\.\d+\.\d+\.\d+$/);
      expect(await execIn(instanceId, 'cat /root/terraform')).to.equal('configured-by-terraform\n');
    }));
});

describe('compat: Terraform AWS provider 5.100, VPC networking (real data plane)', function () {
  this.timeout(900_000);
  const ws = workspace('terraform-network', 'tf-net');

  it('VPC, subnet, gateway, route table, groups, instance and elastic IP: apply, plan with no changes, destroy', () =>
    roundTrip(ws, 10, async (outputs) => {
      expect(outputs.private_ip.value).to.match(/^10\.0\.1\.\d+$/);
      // the instance's SSH port answers on its elastic IP, from this machine (the group allows 22 from anywhere)
      const banner = await execFileAsync('busybox', ['nc', '-w', '3', outputs.public_ip.value, '22'], { timeout: 10_000 }).then(
        (r) => r.stdout,
        (err) => String(err.stdout ?? ''),
      );
      expect(banner).to.match(/^SSH-2\.0-OpenSSH/);
    }));
});

describe('compat: Terraform AWS provider 5.100, load balancing (real HAProxy)', function () {
  this.timeout(900_000);
  const ws = workspace('terraform-lb', 'tf-lb');

  it('load balancer, target group, attachment and listener: apply, plan with no changes, destroy', () =>
    roundTrip(ws, 9, async (outputs) => {
      // the internal load balancer answers by its name inside the VPC: the instance fetches its own page through it
      // (busybox 1.35's wget crashes with -T, so no timeout option)
      const fetch = `wget -q -O- http://${outputs.lb_dns_name.value}/ 2>&1 || true`;
      let page = '';
      for (let i = 0; i < 40 && page !== 'served-by-terraform'; i++) {
        page = (await execIn(outputs.instance_id.value, fetch)).trim();
        if (page !== 'served-by-terraform') await new Promise((r) => setTimeout(r, 500));
      }
      expect(page).to.equal('served-by-terraform');
    }));
});

describe('compat: Terraform AWS provider 5.100, monitoring (SNS and CloudWatch) and schedules (EventBridge Scheduler)', function () {
  this.timeout(900_000);
  let hook: HttpSink;
  const ws = workspace('terraform-monitoring', 'tf-mon', async () => {
    hook = await new HttpSink().start();
    return { webhook: hook.url('/tf') };
  });
  after(() => hook?.close());

  it('topic, e-mail and HTTP subscriptions, CPU alarm on an instance, a resize rule, a schedule group with two schedules: apply, plan with no changes, destroy', () =>
    roundTrip(ws, 9, async (outputs) => {
      expect(outputs.topic_arn.value).to.match(/^arn:aws:sns:[a-z0-9-]+:\d{12}:tf-alerts$/);
      expect(outputs.alarm_arn.value).to.match(/^arn:aws:cloudwatch:[a-z0-9-]+:\d{12}:alarm:tf-cpu-high$/);
      expect(outputs.resize_actions.value).to.deep.equal([`arn:aws:oarcloud:${ws.vars.region}::resize/t2.small`]);
      expect(outputs.schedule_arns.value).to.deep.equal(
        ['shrink-in-the-evening', 'stop-for-the-weekend'].map(
          (name) => `arn:aws:scheduler:${ws.vars.region}:${ws.account!.accountId}:schedule/office-hours/${name}`,
        ),
      );
      // the HTTP endpoint was sent its confirmation request, signed
      const post = await hook.waitFor((p) => p.headers['x-amz-sns-message-type'] === 'SubscriptionConfirmation', 30_000);
      expect(await verifySnsSignature(JSON.parse(post.body))).to.equal(true);
    }));
});

/**
 * Terraform with the AWS provider 5.100 from the machine's filesystem mirror (no download): apply, a second plan
 * that must report no changes, destroy, for each of the four configurations. The four round trips run at once (each
 * in its own account and working directory): Terraform mostly waits on its own polling, so running them side by side
 * takes the time of the longest rather than the sum. A missing terraform binary or provider skips with a visible
 * SKIPPED line.
 */
import { expect } from 'chai';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { dropAccount, endpoint, execFileAsync, execIn, newAccount, region, type TestAccount } from '../test/support/live';
import { HttpSink, verifySnsSignature } from '../test/support/receivers';

const MIRROR = process.env.OARCLOUD_TF_MIRROR ?? '/opt/tf-plugins';
const PROVIDER = path.join(MIRROR, 'registry.terraform.io', 'hashicorp', 'aws', '5.100.0');

function terraform(dir: string, args: string[], vars: Record<string, string>): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    const child = spawn('terraform', args, {
      cwd: dir,
      env: {
        ...process.env,
        TF_CLI_CONFIG_FILE: path.join(dir, 'terraformrc'),
        TF_IN_AUTOMATION: '1',
        CHECKPOINT_DISABLE: '1',
        ...Object.fromEntries(Object.entries(vars).map(([k, v]) => [`TF_VAR_${k}`, v])),
      },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 600_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? 1, out: `${stdout}\n${stderr}` });
    });
  });
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

/** A configuration's account, working directory and variables. */
interface Workspace {
  account: TestAccount | undefined;
  dir: string;
  vars: Record<string, string>;
}

/** A new account and a working directory with `config`. */
async function workspace(config: string, prefix: string, extraVars: (dir: string) => Promise<Record<string, string>> = async () => ({})): Promise<Workspace> {
  const account = await newAccount(prefix);
  const dir = workingDir(config);
  return { account, dir, vars: { endpoint, region, access_key: account.accessKeyId, secret_key: account.secretAccessKey, ...(await extraVars(dir)) } };
}

/** A destroy (when a step failed and left anything) and the account dropped. */
async function teardown(ws: Workspace | undefined): Promise<void> {
  if (!ws) return;
  if (ws.dir && ws.account) await terraform(ws.dir, ['destroy', '-auto-approve', '-no-color'], ws.vars);
  await dropAccount(ws.account);
}

async function roundTrip(ws: Workspace, resources: number, between: (outputs: Record<string, { value: string }>) => Promise<void>): Promise<void> {
  const init = await terraform(ws.dir, ['init', '-no-color', '-input=false'], ws.vars);
  expect(init.code, init.out).to.equal(0);
  const apply = await terraform(ws.dir, ['apply', '-auto-approve', '-no-color', '-input=false'], ws.vars);
  expect(apply.code, apply.out).to.equal(0);
  await between(JSON.parse((await terraform(ws.dir, ['output', '-json'], ws.vars)).out.split('\n\n')[0]));
  const plan = await terraform(ws.dir, ['plan', '-detailed-exitcode', '-no-color', '-input=false'], ws.vars);
  expect(plan.code, `the second plan must show no changes:\n${plan.out}`).to.equal(0);
  expect(plan.out).to.contain('No changes.');
  const destroy = await terraform(ws.dir, ['destroy', '-auto-approve', '-no-color', '-input=false'], ws.vars);
  expect(destroy.code, destroy.out).to.equal(0);
  expect(destroy.out).to.contain(`Destroy complete! Resources: ${resources} destroyed`);
}

/**
 * The four configurations, each a workspace and the round trip to run on it (with what to check between apply and the
 * second plan); all started together by the describe block below.
 */
interface Configuration {
  name: string;
  title: string;
  resources: number;
  prepare: () => Promise<Workspace>;
  check: (outputs: Record<string, { value: string }>, ws: Workspace) => Promise<void>;
  close?: () => void;
}

let hook: HttpSink | undefined;

const CONFIGURATIONS: Configuration[] = [
  {
    name: 'terraform',
    title: 'instances: key pair, instance with tags, key and user data, an AMI from it, data sources',
    resources: 3,
    prepare: () =>
      workspace('terraform', 'tf', async (dir) => {
        await execFileAsync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path.join(dir, 'id')]);
        return { public_key: readFileSync(path.join(dir, 'id.pub'), 'utf8').trim() };
      }),
    check: async (outputs) => {
      const instanceId = outputs.instance_id.value;
      expect(instanceId).to.match(/^i-/);
      expect(outputs.image_id.value).to.match(/^ami-/);
      expect(outputs.private_ip.value).to.match(/^\d+\.\d+\.\d+\.\d+$/);
      expect(await execIn(instanceId, 'cat /root/terraform')).to.equal('configured-by-terraform\n');
    },
  },
  {
    name: 'terraform-network',
    title: 'VPC networking (real data plane): VPC, subnet, gateway, route table, groups, instance and elastic IP',
    resources: 10,
    prepare: () => workspace('terraform-network', 'tf-net'),
    check: async (outputs) => {
      expect(outputs.private_ip.value).to.match(/^10\.0\.1\.\d+$/);
      // the instance's SSH port answers on its elastic IP, from this machine (the group allows 22 from anywhere)
      const banner = await execFileAsync('busybox', ['nc', '-w', '3', outputs.public_ip.value, '22'], { timeout: 10_000 }).then(
        (r) => r.stdout,
        (err) => String(err.stdout ?? ''),
      );
      expect(banner).to.match(/^SSH-2\.0-OpenSSH/);
    },
  },
  {
    name: 'terraform-lb',
    title: 'load balancing (real HAProxy): load balancer, target group, attachment and listener',
    resources: 9,
    prepare: () => workspace('terraform-lb', 'tf-lb'),
    check: async (outputs) => {
      // the internal load balancer answers by its name inside the VPC: the instance fetches its own page through it
      // (busybox 1.35's wget crashes with -T, so no timeout option)
      const fetch = `wget -q -O- http://${outputs.lb_dns_name.value}/ 2>&1 || true`;
      let page = '';
      for (let i = 0; i < 40 && page !== 'served-by-terraform'; i++) {
        page = (await execIn(outputs.instance_id.value, fetch)).trim();
        if (page !== 'served-by-terraform') await new Promise((r) => setTimeout(r, 500));
      }
      expect(page).to.equal('served-by-terraform');
    },
  },
  {
    name: 'terraform-monitoring',
    title: 'monitoring and schedules: topic, e-mail and HTTP subscriptions, CPU alarm on an instance, a resize rule, a schedule group with two schedules',
    resources: 9,
    prepare: () =>
      workspace('terraform-monitoring', 'tf-mon', async () => {
        hook = await new HttpSink().start();
        return { webhook: hook.url('/tf') };
      }),
    check: async (outputs, ws) => {
      expect(outputs.topic_arn.value).to.match(/^arn:aws:sns:[a-z0-9-]+:\d{12}:tf-alerts$/);
      expect(outputs.alarm_arn.value).to.match(/^arn:aws:cloudwatch:[a-z0-9-]+:\d{12}:alarm:tf-cpu-high$/);
      expect(outputs.resize_actions.value).to.deep.equal([`arn:aws:oarcloud:${ws.vars.region}::resize/t2.small`]);
      expect(outputs.schedule_arns.value).to.deep.equal(
        ['shrink-in-the-evening', 'stop-for-the-weekend'].map(
          (name) => `arn:aws:scheduler:${ws.vars.region}:${ws.account!.accountId}:schedule/office-hours/${name}`,
        ),
      );
      // the HTTP endpoint was sent its confirmation request, signed
      const post = await hook!.waitFor((p) => p.headers['x-amz-sns-message-type'] === 'SubscriptionConfirmation', 30_000);
      expect(await verifySnsSignature(JSON.parse(post.body))).to.equal(true);
    },
    close: () => hook?.close(),
  },
];

describe('compat: Terraform AWS provider 5.100, four configurations at once: apply, plan with no changes, destroy', function () {
  this.timeout(1_200_000);
  const workspaces = new Map<string, Workspace>();
  /** Each configuration's round trip, started in `before`: undefined when it passed, else why it failed. */
  const outcomes = new Map<string, Promise<unknown>>();

  before(async function () {
    if (!available()) {
      console.log(`      SKIPPED: terraform or the aws provider 5.100 is not on this machine (looked in ${MIRROR})`);
      return this.skip();
    }
    for (const c of CONFIGURATIONS) {
      const run = c.prepare().then(async (ws) => {
        workspaces.set(c.name, ws);
        await roundTrip(ws, c.resources, (outputs) => c.check(outputs, ws));
      });
      outcomes.set(
        c.name,
        run.then(
          () => undefined,
          (err: unknown) => err ?? new Error('failed'),
        ),
      );
    }
  });
  after(async () => {
    await Promise.all([...outcomes.values()]);
    await Promise.all(CONFIGURATIONS.map((c) => teardown(workspaces.get(c.name))));
    for (const c of CONFIGURATIONS) c.close?.();
  });

  for (const c of CONFIGURATIONS) {
    it(`${c.title} (compat-tests/${c.name})`, async () => {
      const failure = await outcomes.get(c.name);
      if (failure) throw failure;
    });
  }
});

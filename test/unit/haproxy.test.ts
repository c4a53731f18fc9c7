/** The HAProxy configuration a load balancer gets: rules in priority order, quoting, checks; `haproxy -c` accepts it. */
import { expect } from 'chai';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { compileHaproxy, type ProxyModel } from '../../src/adapters/haproxy';
import { globToRegex, matcherRegex } from '../../src/domain/load-balancers';

const MODEL: ProxyModel = {
  address: '10.0.1.9',
  idleTimeoutSeconds: 60,
  frontends: [
    {
      name: 'listener_a',
      port: 80,
      mode: 'http',
      rules: [
        { hosts: [], paths: [globToRegex('/ping')], action: { kind: 'fixed', status: 200, contentType: 'text/plain', body: 'costs $5 "now"' } },
        { hosts: [globToRegex('*.example.com')], paths: [globToRegex('/api/*')], action: { kind: 'forward', backend: 'tg_api' } },
        { hosts: [], paths: [globToRegex('/old')], action: { kind: 'redirect', location: 'http://%[req.hdr(host),field(1,:)]:80/new', code: 301 } },
      ],
      fallback: { kind: 'forward', backend: 'tg_web' },
    },
    { name: 'listener_b', port: 8080, mode: 'tcp', rules: [], fallback: { kind: 'forward', backend: 'tg_tcp' } },
  ],
  backends: [
    {
      name: 'tg_web',
      mode: 'http',
      check: { http: true, path: '/health', expect: matcherRegex('200-202,204'), port: null, intervalSeconds: 5, timeoutSeconds: 2, rise: 3, fall: 2 },
      servers: [
        { name: 'i-1_80', ip: '10.0.1.4', port: 80, draining: false },
        { name: 'i-2_80', ip: '10.0.1.5', port: 80, draining: true },
      ],
    },
    { name: 'tg_api', mode: 'http', check: null, servers: [] },
    {
      name: 'tg_tcp',
      mode: 'tcp',
      check: { http: false, path: '/', expect: '', port: 9000, intervalSeconds: 10, timeoutSeconds: 5, rise: 2, fall: 2 },
      servers: [{ name: 'i-1_7000', ip: '10.0.1.4', port: 7000, draining: false }],
    },
  ],
};

describe('HAProxy configuration of a load balancer', () => {
  const config = compileHaproxy(MODEL, '/run/x.sock');

  it('evaluates rules in order, each only while nothing was decided, and forwards through one variable', () => {
    const frontend = config.slice(config.indexOf('frontend listener_a'), config.indexOf('frontend listener_b'));
    const decisions = frontend.split('\n').filter((l) => /http-request (return|set-var|redirect)/.test(l));
    expect(decisions).to.have.length(4);
    expect(decisions[0]).to.match(/http-request return status 200 .* if !\{ var\(txn.backend\) -m found \} rule0_path$/);
    expect(decisions[1]).to.match(/set-var\(txn.backend\) str\(tg_api\) if !\{ var\(txn.backend\) -m found \} rule1_host rule1_path$/);
    expect(decisions[2]).to.contain('redirect location');
    expect(decisions[3]).to.match(/str\(tg_web\) if !\{ var\(txn.backend\) -m found \}$/);
    expect(frontend).to.contain('use_backend %[var(txn.backend)]');
    expect(config).to.contain('string "costs \\$5 \\"now\\""');
  });

  it('carries health checks, draining weights and TCP listeners', () => {
    expect(config).to.contain('option httpchk GET /health');
    expect(config).to.contain('http-check expect rstatus "^(200|201|202|204)\\$"');
    expect(config).to.contain('default-server inter 5s rise 3 fall 2');
    expect(config).to.contain('server i-2_80 10.0.1.5:80 check weight 0');
    expect(config).to.contain('default-server inter 10s rise 2 fall 2 port 9000');
    expect(config).to.match(/frontend listener_b\n {4}bind 10\.0\.1\.9:8080\n {4}mode tcp\n {4}default_backend tg_tcp/);
  });

  it('is a configuration HAProxy itself accepts', function () {
    if (spawnSync('haproxy', ['-v']).status !== 0) return this.skip();
    const dir = mkdtempSync(path.join(tmpdir(), 'oarcloud-haproxy-'));
    const file = path.join(dir, 'lb.cfg');
    writeFileSync(file, compileHaproxy(MODEL, path.join(dir, 'lb.sock')));
    expect(() => execFileSync('haproxy', ['-c', '-q', '-f', file], { stdio: 'pipe' })).to.not.throw();
  });

  it('turns ELB globs and matchers into anchored regexes', () => {
    expect(globToRegex('/api/*')).to.equal('^/api/.*$');
    expect(globToRegex('img?.example.com')).to.equal('^img.\\.example\\.com$');
    expect(matcherRegex('200')).to.equal('^(200)$');
    expect(matcherRegex('200,302')).to.equal('^(200|302)$');
  });
});

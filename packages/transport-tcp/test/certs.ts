import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Test certificates made with `openssl` at test time: a cluster CA signing `node1` and `node2`,
 * and a `rogue` certificate from another CA that peers must refuse. Returns null (and the
 * reason) when openssl is missing, so TLS tests can skip saying why.
 */
export function makeTestCertificates(): { dir: string; cleanup(): void } | { skip: string } {
  const probe = spawnSync('openssl', ['version'], { encoding: 'utf8' });
  if (probe.status !== 0) return { skip: 'openssl not found on PATH: TLS tests skipped' };
  const dir = mkdtempSync(join(tmpdir(), 'cairn-tls-'));
  const run = (...args: string[]): void => {
    const result = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8' });
    if (result.status !== 0) throw new Error(`openssl ${args.join(' ')}: ${result.stderr}`);
  };
  const key = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  writeFileSync(join(dir, 'ext.cnf'), 'subjectAltName=IP:127.0.0.1\n');
  for (const ca of ['ca', 'rogue-ca']) {
    run(
      'req',
      '-x509',
      ...key,
      '-keyout',
      `${ca}.key`,
      '-out',
      `${ca}.crt`,
      '-days',
      '2',
      '-subj',
      `/CN=cairn-test-${ca}`,
    );
  }
  for (const [name, ca] of [
    ['node1', 'ca'],
    ['node2', 'ca'],
    ['rogue', 'rogue-ca'],
  ] as const) {
    run('req', ...key, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`);
    run(
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      `${ca}.crt`,
      '-CAkey',
      `${ca}.key`,
      '-CAcreateserial',
      '-out',
      `${name}.crt`,
      '-days',
      '2',
      '-extfile',
      'ext.cnf',
    );
  }
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Test certificates made with `openssl` at test time: a cluster CA signing `node1`, `node2` and
 * `node3` (each naming its member as subjectAltName `DNS:cairn-node-<id>`, the rule of
 * node-identity.ts), and a `rogue` certificate from another CA, naming nodes 1 and 2, that
 * peers must refuse. Returns the reason instead when openssl is missing, so TLS tests can skip
 * saying why.
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
  for (const [name, ca, names] of [
    ['node1', 'ca', 'DNS:cairn-node-1'],
    ['node2', 'ca', 'DNS:cairn-node-2'],
    ['node3', 'ca', 'DNS:cairn-node-3'],
    ['rogue', 'rogue-ca', 'DNS:cairn-node-1,DNS:cairn-node-2'],
  ] as const) {
    writeFileSync(join(dir, `${name}.cnf`), `subjectAltName=IP:127.0.0.1,${names}\n`);
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
      `${name}.cnf`,
    );
  }
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

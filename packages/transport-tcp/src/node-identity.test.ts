// The rule that ties a TLS certificate to a node id, on certificate objects shaped like Node's
// `PeerCertificate`: a DNS subjectAltName `cairn-node-<id>` names the node (case-insensitive,
// exact, no wildcards); the subject CN counts only when there is no DNS subjectAltName; a name
// of another node, a longer name with the right prefix, or no certificate at all is a mismatch.
import type { PeerCertificate } from 'node:tls';
import { describe, expect, it } from 'vitest';
import { certificateMismatch, nodeCertificateName } from './node-identity.js';

type Certificate = Pick<PeerCertificate, 'subject' | 'subjectaltname'>;

function certificate(cn: string | string[] | undefined, subjectaltname?: string): Certificate {
  const subject = (cn === undefined ? {} : { CN: cn }) as PeerCertificate['subject'];
  return subjectaltname === undefined ? { subject } : { subject, subjectaltname };
}

describe('certificateMismatch', () => {
  it('accepts a DNS subjectAltName naming the node, in any case', () => {
    expect(nodeCertificateName(7)).toBe('cairn-node-7');
    expect(certificateMismatch(certificate('x', 'IP Address:127.0.0.1, DNS:cairn-node-7'), 7)).toBe(
      null,
    );
    expect(certificateMismatch(certificate('x', 'DNS:other, DNS:CAIRN-NODE-7'), 7)).toBe(null);
  });

  it('refuses a certificate naming another node, or a name that only starts like it', () => {
    expect(certificateMismatch(certificate('x', 'DNS:cairn-node-1'), 2)).toBe(
      'certificate names DNS:cairn-node-1, not cairn-node-2',
    );
    expect(certificateMismatch(certificate('x', 'DNS:cairn-node-21'), 2)).not.toBe(null);
    expect(certificateMismatch(certificate('x', 'DNS:*.cairn-node-2'), 2)).not.toBe(null);
  });

  it('uses the CN only when there is no DNS subjectAltName', () => {
    expect(certificateMismatch(certificate('cairn-node-3'), 3)).toBe(null);
    expect(certificateMismatch(certificate('cairn-node-3', 'IP Address:127.0.0.1'), 3)).toBe(null);
    // A DNS subjectAltName that names another node wins over a CN naming this one.
    expect(certificateMismatch(certificate('cairn-node-3', 'DNS:cairn-node-4'), 3)).not.toBe(null);
    expect(certificateMismatch(certificate('cairn-node-4'), 3)).not.toBe(null);
    expect(certificateMismatch(certificate(['cairn-node-3', 'cairn-node-4']), 3)).not.toBe(null);
    expect(certificateMismatch(certificate(undefined), 3)).not.toBe(null);
  });

  it('refuses when there is no certificate', () => {
    expect(certificateMismatch(null, 1)).toBe(
      'no certificate presented (expected one naming cairn-node-1)',
    );
    // What getPeerCertificate() returns when the peer sent none: an empty object.
    expect(certificateMismatch({} as Certificate, 1)).not.toBe(null);
  });
});

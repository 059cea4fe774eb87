import type { PeerCertificate } from 'node:tls';

/** The name a member's TLS certificate must carry: `cairn-node-<node id>`. */
export function nodeCertificateName(nodeId: number): string {
  return `cairn-node-${nodeId}`;
}

/**
 * Whether a peer's certificate names node `nodeId`, by the rule of RFC 6125 §6.4.4 without
 * wildcards: a subjectAltName `DNS:cairn-node-<id>` (case-insensitive), or, only when the
 * certificate has no DNS subjectAltName at all, a subject CN of exactly that name. Returns null
 * when it does, else the reason (what the certificate names instead), for the refusal event.
 *
 * Why a name at all: the cluster CA signs every member's certificate, so without this rule a
 * member's valid certificate could claim to be any other member in the handshake.
 */
export function certificateMismatch(
  certificate: Pick<PeerCertificate, 'subject' | 'subjectaltname'> | null | undefined,
  nodeId: number,
): string | null {
  const wanted = nodeCertificateName(nodeId);
  if (certificate === null || certificate === undefined || certificate.subject === undefined) {
    return `no certificate presented (expected one naming ${wanted})`;
  }
  const dnsNames = (certificate.subjectaltname ?? '')
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part.startsWith('DNS:'))
    .map((part) => part.slice(4));
  if (dnsNames.length > 0) {
    if (dnsNames.some((name) => name.toLowerCase() === wanted)) return null;
    return `certificate names DNS:${dnsNames.join(', DNS:')}, not ${wanted}`;
  }
  const cn = certificate.subject.CN;
  const names = Array.isArray(cn) ? cn : cn === undefined ? [] : [cn];
  if (names.length === 1 && names[0] === wanted) return null;
  return `certificate has no DNS subjectAltName and CN ${JSON.stringify(names.join(','))}, not ${wanted}`;
}

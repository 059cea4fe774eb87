// Proves that the `ip` ACL scheme reads and matches addresses as ZooKeeper's
// IPAuthenticationProvider (3.9.4) does: tables of valid and invalid entries (IPv4 with and
// without /bits, IPv6 with `::`, bad masks and malformed numbers), tables of matches on octet
// and non-octet boundaries, and a property comparing the byte-wise masking with a BigInt
// model (compare the top `bits` bits of the two addresses as integers). A sibling plants an
// off-by-one in the model and shows the property catches it.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { addressBytes, ipAclMatches, isValidIpAcl, parseIpAcl } from './acl-ip.js';

const seed = Number(process.env.CAIRN_SEED ?? 1);

describe('isValidIpAcl', () => {
  it.each([
    '10.0.0.1',
    '10.0.0.0/8',
    '0.0.0.0/0',
    '255.255.255.255/32',
    '010.0.0.1',
    '10.0.0.1/08',
    '::1',
    '::',
    '1::',
    '::/0',
    '::1/128',
    'fe80::/10',
    '2001:db8::8a2e:370:7334',
    '2001:0db8:85a3:0000:0000:8a2e:0370:7334',
    '2001:DB8::1',
    '1:2:3:4:5:6:7::',
  ])('accepts %j', (entry) => {
    expect(isValidIpAcl(entry)).toBe(true);
  });

  it.each([
    '',
    '10',
    'localhost',
    '10.0.0',
    '10.0.0.1.5',
    '10..0.1',
    '256.0.0.1',
    '10.0.0.-1',
    '+10.0.0.1',
    ' 10.0.0.1',
    'a.b.c.d',
    '10.0.0.1/33',
    '10.0.0.1/',
    '10.0.0.1/-1',
    '10.0.0.1/+8',
    '10.0.0.1/8/9',
    '10.0.0.1/a',
    '::1/129',
    ':::',
    '1:::2',
    '1::2::3',
    '1:2:3:4:5:6:7',
    '1:2:3:4:5:6:7:8:9',
    '1::2:3:4:5:6:7:8',
    '12345::',
    'g::',
    '::ffff:1.2.3.4',
    'fe80::1%eth0',
  ])('rejects %j', (entry) => {
    expect(isValidIpAcl(entry)).toBe(false);
  });

  it('reads IPv6 groups around :: into 16 bytes', () => {
    expect(addressBytes('2001:db8::8a2e:370:7334')).toEqual([
      0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0x8a, 0x2e, 0x03, 0x70, 0x73, 0x34,
    ]);
    expect(parseIpAcl('10.1.2.3')).toEqual({ bytes: [10, 1, 2, 3], bits: 32 });
  });
});

describe('ipAclMatches', () => {
  it.each([
    ['10.1.2.3', '10.0.0.0/8', true],
    ['11.0.0.1', '10.0.0.0/8', false],
    ['10.1.2.3', '10.1.2.3/32', true],
    ['10.1.2.4', '10.1.2.3/32', false],
    ['10.1.2.3', '10.1.2.3', true],
    ['10.1.2.4', '10.1.2.3', false],
    ['10.0.0.3', '10.0.0.2/31', true],
    ['10.0.0.4', '10.0.0.2/31', false],
    ['172.31.255.255', '172.16.0.0/12', true],
    ['172.32.0.0', '172.16.0.0/12', false],
    ['203.0.113.9', '0.0.0.0/0', true],
    ['10.9.9.9', '10.255.255.255/8', true],
    ['::1', '::1', true],
    ['0:0:0:0:0:0:0:1', '::1', true],
    ['2001:db8:1::5', '2001:db8::/32', true],
    ['2001:db9::1', '2001:db8::/32', false],
    ['::1', '0.0.0.0/0', false],
    ['10.0.0.1', '::/0', false],
    ['10.1.2.3', '10.0.0.0/33', false],
    ['10.1.2.3', '10.0.0.0/x', false],
    ['10.1.2.3', 'bogus', false],
    ['10.1.2.3/8', '10.0.0.0/8', false],
    ['', '0.0.0.0/0', false],
  ])('matches %j against %j: %s', (address, entry, expected) => {
    expect(ipAclMatches(address, entry)).toBe(expected);
  });
});

function toBigInt(bytes: readonly number[]): bigint {
  return bytes.reduce((value, byte) => (value << 8n) | BigInt(byte), 0n);
}

/** Same prefix of `bits` bits, compared as integers. */
function prefixModel(a: readonly number[], b: readonly number[], bits: number): boolean {
  const drop = BigInt(a.length * 8 - bits);
  return toBigInt(a) >> drop === toBigInt(b) >> drop;
}

const ipv4 = fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 4, maxLength: 4 });
/** Pairs that often share a prefix: the second is the first with a few low bits changed. */
const pair = fc
  .tuple(ipv4, fc.integer({ min: 0, max: 31 }), fc.integer({ min: 0, max: 2 ** 32 - 1 }))
  .map(([a, shift, noise]) => {
    const b = ((Number(toBigInt(a)) ^ (noise >>> shift)) >>> 0).toString(16).padStart(8, '0');
    const bytes = [0, 2, 4, 6].map((i) => Number.parseInt(b.slice(i, i + 2), 16));
    return [a, bytes] as const;
  });

describe(`ipAclMatches properties (seed ${seed})`, () => {
  it('agrees with comparing the top bits as integers', () => {
    fc.assert(
      fc.property(pair, fc.integer({ min: 0, max: 32 }), ([a, b], bits) => {
        expect(ipAclMatches(b.join('.'), `${a.join('.')}/${bits}`)).toBe(prefixModel(a, b, bits));
      }),
      { seed, numRuns: 2000 },
    );
  });

  it('catches a planted bug: a model that keeps one bit fewer disagrees', () => {
    const result = fc.check(
      fc.property(
        pair,
        fc.integer({ min: 1, max: 32 }),
        ([a, b], bits) =>
          ipAclMatches(b.join('.'), `${a.join('.')}/${bits}`) === prefixModel(a, b, bits - 1),
      ),
      { seed, numRuns: 2000 },
    );
    expect(result.failed).toBe(true);
  });

  it('matches every IPv6 address against itself at every prefix length', () => {
    const ipv6 = fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: 8, maxLength: 8 });
    fc.assert(
      fc.property(ipv6, fc.integer({ min: 0, max: 128 }), (groups, bits) => {
        const text = groups.map((group) => group.toString(16)).join(':');
        expect(ipAclMatches(text, `${text}/${bits}`)).toBe(true);
      }),
      { seed, numRuns: 500 },
    );
  });
});

// Proves the error classes are one per ZooKeeper code and carry what callers check: `code`,
// `path`, `cause`. For every code in ZK_ERROR_CODES, errorFromCode builds a CairnError of a
// class named after the code whose `.code` is that code, and the code's number matches the
// table copied here from ZOOKEEPER.md §1.9 (so codes.ts cannot drift from the reference
// unnoticed). toCairnError passes Cairn errors through, including ones from another copy of
// the package (recognized by a shared symbol, not instanceof), and wraps anything else into a
// SystemError with the original as `cause`. Assertions are on fields, not on message text,
// except where the message format itself is the contract (ZooKeeper's KeeperErrorCode form).
import { describe, expect, it } from 'vitest';
import { ZK_ERROR_CODES, type ZkErrorCode } from './codes.js';
import {
  BadVersionError,
  CairnError,
  errorFromCode,
  fromOpError,
  isCairnError,
  MarshallingError,
  NoNodeError,
  SystemError,
  toCairnError,
} from './errors.js';

/** ZOOKEEPER.md §1.9, `KeeperException.Code`, without OK. */
const REFERENCE_CODES: Readonly<Record<string, number>> = {
  SystemError: -1,
  RuntimeInconsistency: -2,
  DataInconsistency: -3,
  ConnectionLoss: -4,
  MarshallingError: -5,
  Unimplemented: -6,
  OperationTimeout: -7,
  BadArguments: -8,
  UnknownSession: -12,
  NewConfigNoQuorum: -13,
  ReconfigInProgress: -14,
  APIError: -100,
  NoNode: -101,
  NoAuth: -102,
  BadVersion: -103,
  NoChildrenForEphemerals: -108,
  NodeExists: -110,
  NotEmpty: -111,
  SessionExpired: -112,
  InvalidCallback: -113,
  InvalidACL: -114,
  AuthFailed: -115,
  SessionMoved: -118,
  NotReadOnly: -119,
  EphemeralOnLocalSession: -120,
  NoWatcher: -121,
  RequestTimeout: -122,
  ReconfigDisabled: -123,
  SessionClosedRequireSaslAuth: -124,
  QuotaExceeded: -125,
  ThrottledOp: -127,
};

const ERROR_CODES = Object.keys(ZK_ERROR_CODES).filter((code) => code !== 'Ok') as ZkErrorCode[];

describe('errorFromCode', () => {
  it('knows exactly the codes of the reference', () => {
    expect([...ERROR_CODES].sort()).toEqual(Object.keys(REFERENCE_CODES).sort());
  });

  it.each(ERROR_CODES)('builds a %s error with its code and number', (code) => {
    const error = errorFromCode(code, '/a');
    expect(error).toBeInstanceOf(CairnError);
    expect(error).toBeInstanceOf(Error);
    expect(error.code).toBe(code);
    expect(error.path).toBe('/a');
    expect(isCairnError(error)).toBe(true);
    expect(ZK_ERROR_CODES[error.code]).toBe(REFERENCE_CODES[code]);
    expect(error.name).toBe(code.endsWith('Error') ? code : `${code}Error`);
    expect(error.constructor.name).toBe(error.name);
  });

  it('gives each code its own class', () => {
    const classes = new Set(ERROR_CODES.map((code) => errorFromCode(code).constructor));
    expect(classes.size).toBe(ERROR_CODES.length);
  });

  it('builds the named classes the rest of Cairn catches', () => {
    expect(errorFromCode('NoNode')).toBeInstanceOf(NoNodeError);
    expect(errorFromCode('BadVersion')).toBeInstanceOf(BadVersionError);
    expect(errorFromCode('SystemError')).toBeInstanceOf(SystemError);
    expect(errorFromCode('MarshallingError')).toBeInstanceOf(MarshallingError);
  });

  it('leaves path out entirely when there is none', () => {
    const error = errorFromCode('SessionExpired');
    expect(error.path).toBeUndefined();
    expect(Object.hasOwn(error, 'path')).toBe(false);
  });

  it("words the message as ZooKeeper's KeeperException does, unless told otherwise", () => {
    expect(errorFromCode('NoNode', '/a/b').message).toBe('KeeperErrorCode = NoNode for /a/b');
    expect(errorFromCode('ConnectionLoss').message).toBe('KeeperErrorCode = ConnectionLoss');
    expect(errorFromCode('NoAuth', '/x', { message: 'no READ on /x' }).message).toBe(
      'no READ on /x',
    );
  });

  it('keeps a cause when given one, and only then', () => {
    const cause = new Error('disk full');
    expect(errorFromCode('SystemError', undefined, { cause }).cause).toBe(cause);
    expect(Object.hasOwn(errorFromCode('SystemError'), 'cause')).toBe(false);
  });

  it('answers a value that is not a code with a SystemError naming it', () => {
    const error = errorFromCode('Bogus' as ZkErrorCode, '/a');
    expect(error.code).toBe('SystemError');
    expect(error.path).toBe('/a');
    expect(error.message).toContain('Bogus');
    expect(errorFromCode('__proto__' as ZkErrorCode).code).toBe('SystemError');
    expect(errorFromCode('Ok' as ZkErrorCode).code).toBe('SystemError');
  });

  it('lets a subclass be built directly, as other packages do', () => {
    const error = new NoNodeError('/gone');
    expect(error.code).toBe('NoNode');
    expect(error.path).toBe('/gone');
    expect(error.name).toBe('NoNodeError');
  });
});

describe('fromOpError', () => {
  it('turns an apply result into the matching error', () => {
    const error = fromOpError({ code: 'NodeExists', path: '/a' });
    expect(error.code).toBe('NodeExists');
    expect(error.path).toBe('/a');
    expect(fromOpError({ code: 'InvalidACL' }).path).toBeUndefined();
  });
});

describe('toCairnError', () => {
  it('passes a Cairn error through unchanged', () => {
    const error = new BadVersionError('/a');
    expect(toCairnError(error)).toBe(error);
  });

  it('passes through a Cairn error from another copy of the package, without instanceof', () => {
    const foreign = Object.create(
      Object.defineProperty({}, Symbol.for('@cairn/znode.CairnError'), { get: () => true }),
    ) as object;
    Object.assign(foreign, { code: 'NoNode', path: '/a', message: 'x' });
    expect(foreign instanceof CairnError).toBe(false);
    expect(isCairnError(foreign)).toBe(true);
    expect(toCairnError(foreign)).toBe(foreign);
  });

  it('wraps an Error into a SystemError with it as cause', () => {
    const original = new TypeError('boom');
    const error = toCairnError(original);
    expect(error).toBeInstanceOf(SystemError);
    expect(error.code).toBe('SystemError');
    expect(error.cause).toBe(original);
    expect(error.message).toContain('boom');
  });

  it.each([
    ['a string', 'oops'],
    ['a number', 42],
    ['null', null],
    ['undefined', undefined],
    ['an object without a prototype', Object.create(null) as unknown],
    ['an error-like object with a Node error code', { code: 'ECONNRESET', message: 'reset' }],
    ['an object that claims a ZooKeeper code', { code: 'NoNode', path: '/a' }],
  ])('wraps %s into a SystemError', (_, value) => {
    const error = toCairnError(value);
    expect(error.code).toBe('SystemError');
    expect(error.cause).toBe(value);
    expect(isCairnError(error)).toBe(true);
  });
});

describe('isCairnError', () => {
  it('rejects plain errors and non-objects', () => {
    expect(isCairnError(new Error('x'))).toBe(false);
    expect(isCairnError('NoNode')).toBe(false);
    expect(isCairnError(null)).toBe(false);
    expect(isCairnError(undefined)).toBe(false);
  });
});

/**
 * Branded ids. A term, a log index and a node id are all numbers on the wire; the brands keep
 * them from mixing in code. All three are non-negative safe integers; 0 means "none" for a term
 * or an index (the log starts at index 1), and node ids start at 1.
 */
export type Term = number & { readonly brand: 'Term' };
export type LogIndex = number & { readonly brand: 'LogIndex' };
export type NodeId = number & { readonly brand: 'NodeId' };

/** Brands a number as a term. */
export function term(value: number): Term {
  return value as Term;
}

/** Brands a number as a log index. */
export function logIndex(value: number): LogIndex {
  return value as LogIndex;
}

/** Brands a number as a node id. */
export function nodeId(value: number): NodeId {
  return value as NodeId;
}

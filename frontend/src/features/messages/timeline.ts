import { current, isDraft, type Draft } from 'immer';
import type { HistoryPage, Message } from '../../lib/api/types';
import { fromServer, keyOf, type ChatMessage } from './model';

/**
 * Messages per chunk. A change under immer copies the chunk it touches (<= CHUNK pointers) and
 * the list of chunks (count / CHUNK pointers): a send into a 10,000-message room copies ~300
 * pointers instead of two 10,000-entry records.
 */
export const CHUNK = 256;

/**
 * Facts that never change once learned: which seq a message id has, which seq the message sent
 * with a temp_id got. Shared by every version of a timeline and kept outside immer (a class
 * instance is not drafted): it is only a hint, every lookup is checked against the chunks, so an
 * older state that does not hold the message simply does not find it.
 */
export class TimelineIndex {
  readonly seqById = new Map<number, number>();
  readonly seqByTemp = new Map<string, number>();

  note(message: ChatMessage): void {
    if (message.seq === null) return;
    if (message.id !== null) this.seqById.set(message.id, message.seq);
    if (message.temp_id) this.seqByTemp.set(message.temp_id, message.seq);
  }
}

/**
 * One room's loaded messages in display order (confirmed by seq, then unconfirmed local sends in
 * the order written), in chunks: every chunk but the first and the last holds exactly CHUNK
 * messages, the first and the last hold 1..CHUNK, none is empty. So index -> message is
 * arithmetic, an append touches the last chunk, an older page fills the first chunk and puts
 * new ones in front, and an insert or removal in the middle carries one message per chunk towards
 * the nearer end. These functions mutate (they run inside immer producers, or on plain objects)
 * and are unit-tested directly.
 */
export interface Timeline {
  chunks: ChatMessage[][];
  /** Number of messages (the sum of the chunk lengths). */
  count: number;
  /** How many messages at the end are local (pending / failed). */
  localCount: number;
  /**
   * Bumped whenever the sequence of keys changes (insert, removal, reset); not when a message is
   * replaced in place (an edit, a reaction, a confirmation that keeps its row).
   */
  layout: number;
  index: TimelineIndex;
  hasMoreBefore: boolean;
  /** True when the window was opened around an older message and newer pages are not loaded. */
  hasMoreAfter: boolean;
  loaded: boolean;
  loadingOlder: boolean;
  loadingNewer: boolean;
  changeSeq: number;
}

export function emptyTimeline(index = new TimelineIndex()): Timeline {
  return {
    chunks: [],
    count: 0,
    localCount: 0,
    layout: 0,
    index,
    hasMoreBefore: false,
    hasMoreAfter: false,
    loaded: false,
    loadingOlder: false,
    loadingNewer: false,
    changeSeq: 0,
  };
}

/** A plain value for a draft (or the value itself), to move it somewhere new. */
function plain<T>(value: T): T {
  return isDraft(value) ? (current(value as Draft<T>) as T) : value;
}

// ─── positions ────────────────────────────────────────────────────────────────────────────────

function locate(t: Timeline, i: number): [chunk: number, offset: number] {
  const head = t.chunks[0]!.length;
  if (i < head) return [0, i];
  const j = i - head;
  return [1 + Math.floor(j / CHUNK), j % CHUNK];
}

/**
 * The message at display index `i`, or undefined outside 0..count-1. O(1) and allocation-free:
 * the virtualizer reads every key through this when the count changes.
 */
export function messageAt(t: Timeline, i: number): ChatMessage | undefined {
  if (i < 0 || i >= t.count) return undefined;
  const chunks = t.chunks;
  const head = chunks[0]!;
  if (i < head.length) return head[i];
  const j = i - head.length;
  return chunks[1 + ((j / CHUNK) | 0)]![j % CHUNK];
}

export function keyAt(t: Timeline, i: number): string | undefined {
  return messageAt(t, i)?.key;
}

/** All messages in display order (a copy; for tests and one-off scans). */
export function toArray(t: Timeline): ChatMessage[] {
  return t.chunks.flat();
}

/** Index of the last message with this key, scanning back from the end (-1 when absent). */
export function lastIndexOfKey(t: Timeline, key: string): number {
  for (let i = t.count - 1; i >= 0; i--) if (messageAt(t, i)!.key === key) return i;
  return -1;
}

function confirmedCount(t: Timeline): number {
  return t.count - t.localCount;
}

function seqAt(t: Timeline, index: number): number {
  return messageAt(t, index)!.seq ?? Number.MAX_SAFE_INTEGER;
}

/** Index of the first confirmed message whose seq is >= `seq` (binary search; newest first). */
function lowerBound(t: Timeline, seq: number): number {
  const n = confirmedCount(t);
  if (n === 0 || seqAt(t, n - 1) < seq) return n; // the common case: newer than all we hold
  let lo = 0;
  let hi = n - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (seqAt(t, mid) < seq) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Index of the confirmed message with this id (-1 when not held). O(log n). */
export function indexOfId(t: Timeline, id: number): number {
  const seq = t.index.seqById.get(id);
  if (seq === undefined) return -1;
  const i = lowerBound(t, seq);
  return i < confirmedCount(t) && messageAt(t, i)!.id === id ? i : -1;
}

/** Index of the local (pending / failed) message with this key, scanning the local tail. */
function localIndex(t: Timeline, key: string): number {
  for (let i = t.count - 1; i >= confirmedCount(t); i--) if (messageAt(t, i)!.key === key) return i;
  return -1;
}

/** Index of a confirmed message keyed by its temp_id (our own sends keep that key). */
function confirmedIndexOfTemp(t: Timeline, key: string): number {
  const seq = t.index.seqByTemp.get(key);
  if (seq === undefined) return -1;
  const i = lowerBound(t, seq);
  return i < confirmedCount(t) && messageAt(t, i)!.key === key ? i : -1;
}

/** Whether a message with this key is held (local, or confirmed under its temp_id). */
export function hasKey(t: Timeline, key: string): boolean {
  return localIndex(t, key) >= 0 || confirmedIndexOfTemp(t, key) >= 0;
}

export function newestSeq(t: Timeline): number {
  const n = confirmedCount(t);
  return n > 0 ? seqAt(t, n - 1) : 0;
}

export function oldestId(t: Timeline): number | null {
  return confirmedCount(t) > 0 ? messageAt(t, 0)!.id : null;
}

export function newestId(t: Timeline): number | null {
  const n = confirmedCount(t);
  return n > 0 ? messageAt(t, n - 1)!.id : null;
}

// ─── chunk surgery (the only code that changes `chunks`) ──────────────────────────────────────

function insertAt(t: Timeline, i: number, message: ChatMessage): void {
  const chunks = t.chunks;
  t.layout += 1;
  if (chunks.length === 0) {
    chunks.push([message]);
    t.count += 1;
    return;
  }
  if (i >= t.count) {
    const last = chunks[chunks.length - 1]!;
    if (last.length < CHUNK) last.push(message);
    else chunks.push([message]);
    t.count += 1;
    return;
  }
  const [k, p] = locate(t, i);
  t.count += 1;
  if (p === 0 && k === 1 && chunks[0]!.length < CHUNK) {
    chunks[0]!.push(message); // the end of a partial first chunk is the same position
    return;
  }
  chunks[k]!.splice(p, 0, message);
  if (chunks[k]!.length <= CHUNK) return; // a partial first or last chunk took it
  // A full chunk overflowed: carry one message per chunk towards the nearer end.
  const last = chunks.length - 1;
  if (last - k <= k) {
    for (let j = k; ; j++) {
      const carry = chunks[j]!.pop()!;
      if (j === last) {
        chunks.push([carry]);
        return;
      }
      chunks[j + 1]!.unshift(carry);
      if (chunks[j + 1]!.length <= CHUNK) return;
    }
  }
  for (let j = k; ; j--) {
    const carry = chunks[j]!.shift()!;
    if (j === 0) {
      chunks.unshift([carry]);
      return;
    }
    chunks[j - 1]!.push(carry);
    if (chunks[j - 1]!.length <= CHUNK) return;
  }
}

function removeAt(t: Timeline, i: number): void {
  const chunks = t.chunks;
  const [k, p] = locate(t, i);
  const last = chunks.length - 1;
  chunks[k]!.splice(p, 1);
  t.count -= 1;
  t.layout += 1;
  if (k === 0 || k === last) {
    if (chunks[k]!.length === 0) chunks.splice(k, 1);
    return;
  }
  // A middle chunk is one short: pull one message per chunk from the nearer end.
  if (last - k <= k) {
    for (let j = k; j < last; j++) chunks[j]!.push(chunks[j + 1]!.shift()!);
    if (chunks[last]!.length === 0) chunks.pop();
  } else {
    for (let j = k; j > 0; j--) chunks[j]!.unshift(chunks[j - 1]!.pop()!);
    if (chunks[0]!.length === 0) chunks.shift();
  }
}

function replaceAt(t: Timeline, i: number, message: ChatMessage): void {
  const [k, p] = locate(t, i);
  t.chunks[k]![p] = message;
}

/** Messages older than everything held, in ascending order: fill the first chunk, then new chunks in front. */
function prependMany(t: Timeline, messages: ChatMessage[]): void {
  if (messages.length === 0) return;
  const chunks = t.chunks;
  let rest = messages.length;
  if (chunks.length > 0) {
    const take = Math.min(CHUNK - chunks[0]!.length, rest);
    if (take > 0) {
      chunks[0]!.unshift(...messages.slice(rest - take));
      rest -= take;
    }
  }
  const fresh: ChatMessage[][] = [];
  for (let end = rest; end > 0; end -= CHUNK) fresh.push(messages.slice(Math.max(0, end - CHUNK), end));
  if (fresh.length) chunks.unshift(...fresh.reverse());
  t.count += messages.length;
  t.layout += 1;
}

function insertConfirmed(t: Timeline, message: ChatMessage, at = lowerBound(t, message.seq!)): void {
  t.index.note(message);
  insertAt(t, at, message);
}

// ─── the operations the slice uses ────────────────────────────────────────────────────────────

export type UpsertResult = 'added' | 'replaced' | 'ignored';

/**
 * Put a server message in place: it replaces the local send with the same temp_id, or the copy
 * with the same id or seq when its version is not older; otherwise it is inserted by seq.
 */
export function upsertMessage(t: Timeline, message: Message): UpsertResult {
  if (message.change_seq) t.changeSeq = Math.max(t.changeSeq, message.change_seq);
  const local = message.temp_id ? localIndex(t, message.temp_id) : -1;
  if (local >= 0) {
    const confirmed = fromServer(message, message.temp_id!);
    const at = lowerBound(t, message.seq);
    t.localCount -= 1;
    if (local === at) {
      // The oldest local send becomes the newest confirmed message: same row, same place.
      t.index.note(confirmed);
      replaceAt(t, local, confirmed);
    } else {
      removeAt(t, local);
      insertConfirmed(t, confirmed, at);
    }
    return 'replaced';
  }
  let existing = indexOfId(t, message.id);
  if (existing < 0 && message.temp_id) existing = confirmedIndexOfTemp(t, message.temp_id);
  if (existing >= 0) return replaceIfNewer(t, existing, message);
  const at = lowerBound(t, message.seq);
  if (at < confirmedCount(t) && seqAt(t, at) === message.seq) return replaceIfNewer(t, at, message);
  if (t.hasMoreAfter && at === confirmedCount(t)) return 'ignored'; // beyond the loaded window
  insertConfirmed(t, fromServer(message), at);
  return 'added';
}

function replaceIfNewer(t: Timeline, i: number, message: Message): UpsertResult {
  const held = messageAt(t, i)!;
  if ((message.version ?? 0) < held.version) return 'ignored';
  if ((message.version ?? 0) === held.version && held.id === message.id) return 'ignored';
  const next = fromServer(message, held.key);
  t.index.note(next);
  replaceAt(t, i, next);
  return 'replaced';
}

/** Apply an edit / delete / reaction change; only touches messages we hold, only when newer. */
export function applyUpdate(t: Timeline, message: Message): boolean {
  if (message.change_seq) t.changeSeq = Math.max(t.changeSeq, message.change_seq);
  const i = indexOfId(t, message.id);
  if (i < 0) return false;
  return replaceIfNewer(t, i, message) === 'replaced';
}

export function addLocal(t: Timeline, message: ChatMessage): void {
  if (hasKey(t, message.key)) return;
  insertAt(t, t.count, message);
  t.localCount += 1;
}

/** The local (pending / failed) message with this temp_id, if this timeline holds one. */
export function localMessage(t: Timeline, tempId: string): ChatMessage | undefined {
  const i = localIndex(t, tempId);
  return i >= 0 ? messageAt(t, i) : undefined;
}

export function setLocalState(t: Timeline, tempId: string, local: ChatMessage['local'], error?: string): boolean {
  const message = localMessage(t, tempId);
  if (!message) return false;
  message.local = local;
  if (error) message.error = error;
  else delete message.error;
  return true;
}

export function discardLocal(t: Timeline, tempId: string): void {
  const i = localIndex(t, tempId);
  if (i < 0) return;
  removeAt(t, i);
  t.localCount -= 1;
}

/** Retry: the local message moves to the end (where the outbox now queues it), pending again. */
export function requeueLocal(t: Timeline, tempId: string): boolean {
  const held = localMessage(t, tempId);
  if (!held) return false;
  const message: ChatMessage = { ...plain(held), local: 'pending' };
  delete message.error;
  discardLocal(t, tempId);
  addLocal(t, message);
  return true;
}

/** Older page above what we hold (the `before` cursor). Bulk prepend: whole chunks, not fifty inserts. */
export function prependPage(t: Timeline, page: HistoryPage): number {
  const firstSeq = confirmedCount(t) > 0 ? seqAt(t, 0) : Number.MAX_SAFE_INTEGER;
  const fresh: ChatMessage[] = [];
  for (const m of page.messages) {
    if (indexOfId(t, m.id) >= 0 || hasKey(t, keyOf(m))) continue;
    if (m.seq >= firstSeq) upsertMessage(t, m);
    else fresh.push(fromServer(m));
  }
  for (const m of fresh) t.index.note(m);
  prependMany(t, fresh);
  t.hasMoreBefore = page.has_more;
  return fresh.length;
}

/** Newer page below (the `after` cursor), used after a jump with the `around` page. */
export function appendPage(t: Timeline, page: HistoryPage): void {
  const wasMoreAfter = t.hasMoreAfter;
  t.hasMoreAfter = false; // let the inserts through
  for (const m of page.messages) upsertMessage(t, m);
  t.hasMoreAfter = wasMoreAfter && page.has_more;
}

/** Start over from a page (first open, a sync reset, a jump): local sends stay at the end. */
export function resetWithPage(t: Timeline, page: HistoryPage, mode: 'latest' | 'around'): void {
  const locals: ChatMessage[] = [];
  for (let i = confirmedCount(t); i < t.count; i++) locals.push(plain(messageAt(t, i)!));
  const { changeSeq, layout, index } = t;
  Object.assign(t, emptyTimeline(index));
  t.changeSeq = changeSeq;
  t.layout = layout + 1;
  for (const m of page.messages) upsertMessage(t, m);
  for (const m of locals) addLocal(t, m);
  t.hasMoreBefore = mode === 'around' ? Boolean(page.has_more_before) : page.has_more;
  t.hasMoreAfter = mode === 'around' ? Boolean(page.has_more_after) : false;
  t.loaded = true;
}

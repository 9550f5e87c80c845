// The record-based timeline the app used before the chunked one (commit 46d14f8), kept as the
// reference model for the randomized equivalence test in timeline.test.ts.
import type { HistoryPage, Message } from '../src/lib/api/types';
import { fromServer, keyOf, type ChatMessage } from '../src/features/messages/model';

/**
 * One room's loaded messages: `keys` in display order (confirmed by seq, then unconfirmed local
 * sends in the order written), `byKey` holding each message once, `keyById` for lookups by id.
 * These functions mutate (they run inside immer producers) and are unit-tested directly.
 */
export interface Timeline {
  keys: string[];
  byKey: Record<string, ChatMessage>;
  keyById: Record<number, string>;
  /** How many entries at the end of `keys` are local (pending / failed). */
  localCount: number;
  hasMoreBefore: boolean;
  /** True when the window was opened around an older message and newer pages are not loaded. */
  hasMoreAfter: boolean;
  loaded: boolean;
  loadingOlder: boolean;
  loadingNewer: boolean;
  changeSeq: number;
}

export function emptyTimeline(): Timeline {
  return {
    keys: [],
    byKey: {},
    keyById: {},
    localCount: 0,
    hasMoreBefore: false,
    hasMoreAfter: false,
    loaded: false,
    loadingOlder: false,
    loadingNewer: false,
    changeSeq: 0,
  };
}

function confirmedCount(t: Timeline): number {
  return t.keys.length - t.localCount;
}

function seqAt(t: Timeline, index: number): number {
  return t.byKey[t.keys[index]!]!.seq ?? Number.MAX_SAFE_INTEGER;
}

/** Index of the first confirmed message whose seq is >= `seq` (binary search). */
function lowerBound(t: Timeline, seq: number): number {
  let lo = 0;
  let hi = confirmedCount(t);
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (seqAt(t, mid) < seq) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export function newestSeq(t: Timeline): number {
  const n = confirmedCount(t);
  return n > 0 ? seqAt(t, n - 1) : 0;
}

export function oldestId(t: Timeline): number | null {
  return confirmedCount(t) > 0 ? t.byKey[t.keys[0]!]!.id : null;
}

export function newestId(t: Timeline): number | null {
  const n = confirmedCount(t);
  return n > 0 ? t.byKey[t.keys[n - 1]!]!.id : null;
}

function removeKey(t: Timeline, key: string): void {
  const message = t.byKey[key];
  if (!message) return;
  const index = message.local ? t.keys.lastIndexOf(key) : lowerBound(t, message.seq!);
  if (t.keys[index] === key) t.keys.splice(index, 1);
  else t.keys.splice(t.keys.indexOf(key), 1);
  if (message.local) t.localCount -= 1;
  if (message.id !== null) delete t.keyById[message.id];
  delete t.byKey[key];
}

export type UpsertResult = 'added' | 'replaced' | 'ignored';

/**
 * Put a server message in place: it replaces the local send with the same temp_id, or the copy
 * with the same id or seq when its version is not older; otherwise it is inserted by seq.
 */
export function upsertMessage(t: Timeline, message: Message): UpsertResult {
  if (message.change_seq) t.changeSeq = Math.max(t.changeSeq, message.change_seq);
  const byTemp = message.temp_id ? t.byKey[message.temp_id] : undefined;
  if (byTemp && byTemp.local) {
    removeKey(t, byTemp.key);
    insertBySeq(t, fromServer(message, byTemp.key));
    return 'replaced';
  }
  const existingKey = t.keyById[message.id] ?? (byTemp ? byTemp.key : undefined);
  if (existingKey !== undefined) return replaceIfNewer(t, existingKey, message);
  const at = lowerBound(t, message.seq);
  if (at < confirmedCount(t) && seqAt(t, at) === message.seq) return replaceIfNewer(t, t.keys[at]!, message);
  if (t.hasMoreAfter && at === confirmedCount(t)) return 'ignored'; // beyond the loaded window
  insertBySeq(t, fromServer(message), at);
  return 'added';
}

function replaceIfNewer(t: Timeline, key: string, message: Message): UpsertResult {
  const current = t.byKey[key]!;
  if ((message.version ?? 0) < current.version) return 'ignored';
  if ((message.version ?? 0) === current.version && current.id === message.id) return 'ignored';
  if (current.id !== null && current.id !== message.id) delete t.keyById[current.id];
  t.byKey[key] = fromServer(message, key);
  t.keyById[message.id] = key;
  return 'replaced';
}

function insertBySeq(t: Timeline, message: ChatMessage, at = lowerBound(t, message.seq!)): void {
  t.keys.splice(at, 0, message.key);
  t.byKey[message.key] = message;
  t.keyById[message.id!] = message.key;
}

/** Apply an edit / delete / reaction change; only touches messages we hold, only when newer. */
export function applyUpdate(t: Timeline, message: Message): boolean {
  if (message.change_seq) t.changeSeq = Math.max(t.changeSeq, message.change_seq);
  const key = t.keyById[message.id];
  if (key === undefined) return false;
  return replaceIfNewer(t, key, message) === 'replaced';
}

export function addLocal(t: Timeline, message: ChatMessage): void {
  if (t.byKey[message.key]) return;
  t.keys.push(message.key);
  t.byKey[message.key] = message;
  t.localCount += 1;
}

export function setLocalState(t: Timeline, tempId: string, local: ChatMessage['local'], error?: string): boolean {
  const message = t.byKey[tempId];
  if (!message || !message.local) return false;
  message.local = local;
  if (error) message.error = error;
  else delete message.error;
  return true;
}

export function discardLocal(t: Timeline, tempId: string): void {
  if (t.byKey[tempId]?.local) removeKey(t, tempId);
}

/** Older page above what we hold (the `before` cursor). Bulk prepend: one splice, not fifty. */
export function prependPage(t: Timeline, page: HistoryPage): number {
  const firstSeq = confirmedCount(t) > 0 ? seqAt(t, 0) : Number.MAX_SAFE_INTEGER;
  const fresh: ChatMessage[] = [];
  for (const m of page.messages) {
    if (t.keyById[m.id] !== undefined || t.byKey[keyOf(m)]) continue;
    if (m.seq >= firstSeq) upsertMessage(t, m);
    else fresh.push(fromServer(m));
  }
  for (const m of fresh) {
    t.byKey[m.key] = m;
    t.keyById[m.id!] = m.key;
  }
  t.keys.unshift(...fresh.map((m) => m.key));
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
  const locals = t.keys.slice(confirmedCount(t)).map((k) => t.byKey[k]!);
  const changeSeq = t.changeSeq;
  Object.assign(t, emptyTimeline());
  t.changeSeq = changeSeq;
  for (const m of page.messages) upsertMessage(t, m);
  for (const m of locals) addLocal(t, m);
  t.hasMoreBefore = mode === 'around' ? Boolean(page.has_more_before) : page.has_more;
  t.hasMoreAfter = mode === 'around' ? Boolean(page.has_more_after) : false;
  t.loaded = true;
}

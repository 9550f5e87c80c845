import { produce } from 'immer';
import { beforeEach, describe, expect, it } from 'vitest';
import { createChatStore, type ChatStore } from '../src/app/store';
import { pendingMessage, type ChatMessage } from '../src/features/messages/model';
import * as chunked from '../src/features/messages/timeline';
import { CHUNK, indexOfId, keyAt, messageAt, toArray, type Timeline } from '../src/features/messages/timeline';
import type { Message } from '../src/lib/api/types';
import { ME, OTHER, message, page, room } from './fixtures';
import * as legacy from './legacyTimeline';

const R = 7;
let store: ChatStore;

const timeline = () => store.getState().timelines[R]!;
const seqs = () => toArray(timeline()).map((m) => m.seq ?? m.key);
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

/** The chunk invariant: all chunks but the first and last are full, none is empty, counts add up. */
function expectWellFormed(t: Timeline): void {
  const lengths = t.chunks.map((c) => c.length);
  expect(lengths.every((n) => n >= 1 && n <= CHUNK)).toBe(true);
  expect(lengths.slice(1, -1).every((n) => n === CHUNK)).toBe(true);
  expect(lengths.reduce((a, b) => a + b, 0)).toBe(t.count);
  const all = toArray(t);
  for (let i = 0; i < t.count; i++) expect(messageAt(t, i)).toBe(all[i]);
  expect(messageAt(t, t.count)).toBeUndefined();
  const confirmed = all.slice(0, t.count - t.localCount);
  expect(confirmed.every((m) => m.local === null)).toBe(true);
  expect(all.slice(t.count - t.localCount).every((m) => m.local !== null)).toBe(true);
  for (let i = 1; i < confirmed.length; i++) expect(confirmed[i]!.seq!).toBeGreaterThan(confirmed[i - 1]!.seq!);
}

function loadRoom(from: number, to: number): void {
  store.getState().loadLatest(R, page(range(from, to).map((s) => message(R, s, { id: 100_000 + s })), from > 1));
}

beforeEach(() => {
  store = createChatStore();
  store.getState().setMe(ME);
  store.getState().setRooms([room(R, { last_seq: 0 })]);
});

describe('chunked timeline', () => {
  it('fills chunks of CHUNK at the end; index -> message is arithmetic', () => {
    loadRoom(1, 100);
    for (let s = 101; s <= 600; s++) store.getState().receiveMessage(message(R, s, { id: 100_000 + s }));
    expect(timeline().chunks.map((c) => c.length)).toEqual([256, 256, 88]);
    expect(seqs()).toEqual(range(1, 600));
    expect(keyAt(timeline(), 599)).toBe(`#${100_600}`);
    expectWellFormed(timeline());
  });

  it('prepends older pages across chunk boundaries: the first chunk fills, new chunks go in front', () => {
    loadRoom(901, 1000);
    expect(timeline().chunks.map((c) => c.length)).toEqual([100]);
    for (let top = 900; top > 0; top -= 100) {
      const older = range(top - 99, top).map((s) => message(R, s, { id: 100_000 + s }));
      store.getState().prependOlder(R, page(older, top > 100));
      expectWellFormed(timeline());
    }
    expect(seqs()).toEqual(range(1, 1000));
    // 1000 = 232 + 3 * 256: the partial chunk is the first one.
    expect(timeline().chunks.map((c) => c.length)).toEqual([232, 256, 256, 256]);
    expect(timeline().hasMoreBefore).toBe(false);
    expect(indexOfId(timeline(), 100_001)).toBe(0);
    expect(indexOfId(timeline(), 100_777)).toBe(776);
  });

  it('a prepend skips the overlap with what is loaded and leaves the newer chunks untouched', () => {
    loadRoom(201, 1000);
    const before = timeline().chunks;
    const older = range(101, 210).map((s) => message(R, s, { id: 100_000 + s }));
    store.getState().prependOlder(R, page(older, true));
    expect(seqs()).toEqual(range(101, 1000));
    expectWellFormed(timeline());
    // Only the first chunk was refilled; the others are the same arrays (no copy).
    expect(timeline().chunks.slice(-3)).toEqual(before.slice(-3));
    for (let i = 1; i <= 3; i++) expect(timeline().chunks.at(-i)).toBe(before.at(-i));
  });

  it('an append copies only the last chunk and the chunk list', () => {
    loadRoom(1, 1000);
    const before = timeline();
    store.getState().addPending(R, 'temp-1', 'hi', '2026-11-24T10:00:00Z');
    const after = timeline();
    expect(after.chunks).not.toBe(before.chunks);
    for (let k = 0; k < before.chunks.length - 1; k++) expect(after.chunks[k]).toBe(before.chunks[k]);
    expect(after.count).toBe(1001);
    expect(after.layout).toBeGreaterThan(before.layout);
    expectWellFormed(after);
  });

  it('inserts out-of-order arrivals in the middle, carrying towards the nearer end', () => {
    const all = range(1, 1200).filter((s) => s !== 300 && s !== 1100);
    store.getState().loadLatest(R, page(all.map((s) => message(R, s, { id: 100_000 + s })), false));
    expect(timeline().chunks.map((c) => c.length)).toEqual([256, 256, 256, 256, 174]);
    const tail = timeline().chunks.at(-1);
    store.getState().receiveMessage(message(R, 300, { id: 100_300 })); // chunk 1: carried to the head
    expect(timeline().chunks.map((c) => c.length)).toEqual([1, 256, 256, 256, 256, 174]);
    expect(timeline().chunks.at(-1)).toBe(tail);
    store.getState().receiveMessage(message(R, 1100, { id: 101_100 })); // chunk 4: carried to the tail
    expect(timeline().chunks.map((c) => c.length)).toEqual([1, 256, 256, 256, 256, 175]);
    expect(seqs()).toEqual(range(1, 1200));
    expectWellFormed(timeline());
  });

  it('confirms by temp_id in place: same row, same key, no layout change, only the last chunk copied', () => {
    loadRoom(1, 600);
    store.getState().addPending(R, 'temp-a', 'mine', '2026-11-24T10:00:00Z');
    store.getState().addPending(R, 'temp-b', 'mine too', '2026-11-24T10:00:01Z');
    const before = timeline();
    store.getState().confirmMessage('temp-a', message(R, 601, { id: 100_601, user: ME, temp_id: 'temp-a', content: 'mine' }));
    const after = timeline();
    expect(after.layout).toBe(before.layout);
    expect(after.count).toBe(602);
    expect(after.localCount).toBe(1);
    expect(keyAt(after, 600)).toBe('temp-a');
    expect(messageAt(after, 600)).toMatchObject({ id: 100_601, seq: 601, local: null });
    expect(after.chunks.slice(0, -1).every((c, k) => c === before.chunks[k])).toBe(true);
    // Confirmed out of order (b before a): b moves in front of a.
    store.getState().addPending(R, 'temp-c', 'third', '2026-11-24T10:00:02Z');
    store.getState().confirmMessage('temp-c', message(R, 602, { id: 100_602, user: ME, temp_id: 'temp-c' }));
    expect(seqs().slice(-3)).toEqual([601, 602, 'temp-b']);
    // The echo of a confirmed send (message_new with our temp_id) adds nothing.
    store.getState().receiveMessage(message(R, 602, { id: 100_602, user: ME, temp_id: 'temp-c' }));
    expect(timeline().count).toBe(603);
    expectWellFormed(timeline());
  });

  it('updates by version: newer replaces in place, older or equal is ignored', () => {
    loadRoom(1, 600);
    const before = timeline();
    store.getState().updateMessage(message(R, 300, { id: 100_300, content: 'edited', version: 2 }));
    let after = timeline();
    expect(messageAt(after, 299)).toMatchObject({ content: 'edited', version: 2, key: '#100300' });
    expect(after.layout).toBe(before.layout);
    expect(after.chunks.filter((c, k) => c !== before.chunks[k])).toHaveLength(1);
    store.getState().updateMessage(message(R, 300, { id: 100_300, content: 'stale', version: 1 }));
    store.getState().updateMessage(message(R, 300, { id: 100_300, content: 'same version', version: 2 }));
    after = timeline();
    expect(messageAt(after, 299)!.content).toBe('edited');
    store.getState().updateMessage(message(R, 9999, { id: 555, change_seq: 0 })); // not held
    expect(timeline().chunks).toBe(after.chunks);
  });

  it('dedupes by id, by seq and by temp_id', () => {
    loadRoom(1, 300);
    store.getState().receiveMessage(message(R, 150, { id: 100_150 }));
    store.getState().receiveMessage(message(R, 151, { id: 424_242 })); // same seq, another id: same version, replaced
    store.getState().applySync({ room: R, messages: range(290, 305).map((s) => message(R, s, { id: 100_000 + s })) });
    expect(seqs()).toEqual(range(1, 305));
    store.getState().restoreOutbox([]);
    store.getState().addPending(R, 'temp-x', 'x', '2026-11-24T10:00:00Z');
    store.getState().addPending(R, 'temp-x', 'x again', '2026-11-24T10:00:00Z');
    expect(timeline().localCount).toBe(1);
    store.getState().confirmMessage('temp-x', message(R, 306, { id: 100_306, user: ME, temp_id: 'temp-x' }));
    // A stale outbox entry for a send that was already confirmed does not come back as pending.
    store.getState().addPending(R, 'temp-x', 'x', '2026-11-24T10:00:00Z');
    expect(timeline().localCount).toBe(0);
    expect(timeline().count).toBe(306);
    expectWellFormed(timeline());
  });

  it('removes a local send from a middle chunk and keeps the chunks full', () => {
    loadRoom(1, 200);
    for (let i = 0; i < 600; i++) store.getState().addPending(R, `t-${i}`, `m ${i}`, '2026-11-24T10:00:00Z');
    expect(timeline().chunks.map((c) => c.length)).toEqual([256, 256, 256, 32]);
    store.getState().discardPending('t-100'); // index 300: chunk 1
    store.getState().failMessage('t-400', 'nope');
    store.getState().retryLocal('t-400'); // moves to the end
    expectWellFormed(timeline());
    expect(timeline().count).toBe(799);
    expect(keyAt(timeline(), 798)).toBe('t-400');
    expect(toArray(timeline()).some((m) => m.key === 't-100')).toBe(false);
  });
});

// ─── the chunked timeline against the record-based one it replaced ─────────────────────────────

function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

type Op = { kind: 'upsert' | 'update' | 'prepend' | 'reset'; messages: Message[]; more?: boolean } | { kind: 'local' | 'fail' | 'discard' | 'retry'; temp: string };

const view = (ms: readonly ChatMessage[]) => ms.map((m) => `${m.key}:${m.seq}:${m.id}:${m.version}:${m.local}:${m.content}`);

describe('equivalence with the record-based timeline', () => {
  for (const seed of [1, 2, 3, 4, 5]) {
    it(`gives the same messages in the same order (random operations, seed ${seed})`, () => {
      const random = rng(seed);
      const pick = (n: number) => Math.floor(random() * n);
      let t: Timeline = chunked.emptyTimeline();
      let old: legacy.Timeline = legacy.emptyTimeline();
      const held = new Map<number, Message>(); // seq -> latest server copy
      const temps: string[] = [];
      let oldest = 5000;
      let newest = 5000;
      let nextTemp = 0;
      const server = (seq: number, over: Partial<Message> = {}): Message => {
        const m = held.get(seq) ?? message(R, seq, { id: 200_000 + seq, user: random() < 0.5 ? ME : OTHER });
        const next = { ...m, ...over };
        held.set(seq, next);
        return next;
      };
      const apply = (op: Op) => {
        t = produce(t, (d) => {
          switch (op.kind) {
            case 'upsert': for (const m of op.messages) chunked.upsertMessage(d, m); break;
            case 'update': for (const m of op.messages) chunked.applyUpdate(d, m); break;
            case 'prepend': chunked.prependPage(d, page(op.messages, op.more)); break;
            case 'reset': chunked.resetWithPage(d, page(op.messages, op.more), 'latest'); break;
            case 'local': chunked.addLocal(d, pendingMessage(R, op.temp, `local ${op.temp}`, ME, '2026-11-24T10:00:00Z')); break;
            case 'fail': chunked.setLocalState(d, op.temp, 'failed', 'nope'); break;
            case 'discard': chunked.discardLocal(d, op.temp); break;
            case 'retry': chunked.requeueLocal(d, op.temp); break;
          }
        });
        switch (op.kind) {
          case 'upsert': for (const m of op.messages) legacy.upsertMessage(old, m); break;
          case 'update': for (const m of op.messages) legacy.applyUpdate(old, m); break;
          case 'prepend': legacy.prependPage(old, page(op.messages, op.more)); break;
          case 'reset': legacy.resetWithPage(old, page(op.messages, op.more), 'latest'); break;
          case 'local': legacy.addLocal(old, pendingMessage(R, op.temp, `local ${op.temp}`, ME, '2026-11-24T10:00:00Z')); break;
          case 'fail': legacy.setLocalState(old, op.temp, 'failed', 'nope'); break;
          case 'discard': legacy.discardLocal(old, op.temp); break;
          case 'retry': {
            const m = old.byKey[op.temp];
            if (m?.local) {
              const copy = { ...m, local: 'pending' as const };
              delete copy.error;
              legacy.discardLocal(old, op.temp);
              legacy.addLocal(old, copy);
            }
            break;
          }
        }
      };
      apply({ kind: 'reset', messages: range(4901, 5000).map((s) => server(s)), more: true });
      oldest = 4901;
      for (let step = 0; step < 1500; step++) {
        const r = random();
        if (r < 0.25) {
          newest += 1 + pick(2);
          apply({ kind: 'upsert', messages: [server(newest)] });
        } else if (r < 0.35) {
          const seq = oldest + pick(newest - oldest + 1); // a duplicate or a gap filled late
          apply({ kind: 'upsert', messages: [server(seq)] });
        } else if (r < 0.5) {
          const temp = `tmp-${nextTemp++}`;
          temps.push(temp);
          apply({ kind: 'local', temp });
        } else if (r < 0.62 && temps.length) {
          const temp = temps.splice(pick(Math.min(2, temps.length)), 1)[0]!; // mostly in order
          newest += 1;
          apply({ kind: 'upsert', messages: [server(newest, { user: ME, temp_id: temp, content: `local ${temp}` })] });
        } else if (r < 0.7) {
          const seq = oldest + pick(newest - oldest + 1);
          const m = held.get(seq);
          if (m) apply({ kind: 'update', messages: [server(seq, { content: `edit ${step}`, version: m.version + pick(3) - 1 })] });
        } else if (r < 0.78 && oldest > 1) {
          const from = Math.max(1, oldest - 100);
          const overlap = pick(3);
          apply({ kind: 'prepend', messages: range(from, oldest - 1 + overlap).map((s) => server(s)), more: from > 1 });
          oldest = from;
        } else if (r < 0.84 && temps.length) {
          apply({ kind: 'fail', temp: temps[pick(temps.length)]! });
        } else if (r < 0.89 && temps.length) {
          apply({ kind: 'retry', temp: temps[pick(temps.length)]! });
        } else if (r < 0.93 && temps.length) {
          apply({ kind: 'discard', temp: temps.splice(pick(temps.length), 1)[0]! });
        } else if (r < 0.935) {
          apply({ kind: 'reset', messages: range(newest - 99, newest).map((s) => server(s)), more: true });
          oldest = newest - 99;
        } else {
          apply({ kind: 'upsert', messages: [server(newest - pick(5))] }); // an echo of something recent
        }
        if (step % 100 === 0) expectWellFormed(t);
        expect(view(toArray(t))).toEqual(view(old.keys.map((k) => old.byKey[k]!)));
        expect([t.count, t.localCount, t.hasMoreBefore, t.changeSeq]).toEqual([old.keys.length, old.localCount, old.hasMoreBefore, old.changeSeq]);
      }
      expect(t.count).toBeGreaterThan(300);
      expectWellFormed(t);
    });
  }
});

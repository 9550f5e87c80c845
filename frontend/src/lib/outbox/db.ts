/** IndexedDB persistence for unsent messages, so they survive a reload or a closed tab. */

export type OutboxStatus = 'pending' | 'failed';

export interface OutboxEntry {
  temp_id: string;
  room: number;
  content: string;
  /** Monotonic creation order across the whole outbox (ms timestamp + counter). */
  order: number;
  created_at: string;
  status: OutboxStatus;
  error?: string;
}

const STORE = 'entries';

function promisify<T>(req: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

function done(tx: IDBTransaction): Promise<void> {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error);
  });
}

export interface OutboxDb {
  put(entry: OutboxEntry): Promise<void>;
  remove(tempId: string): Promise<void>;
  all(): Promise<OutboxEntry[]>;
  close(): void;
}

/** One database per user, so a second account on the same browser never sends the first one's drafts. */
export async function openOutboxDb(name: string, factory: IDBFactory = indexedDB): Promise<OutboxDb> {
  const open = factory.open(name, 1);
  open.onupgradeneeded = () => {
    open.result.createObjectStore(STORE, { keyPath: 'temp_id' });
  };
  const db = await promisify(open);
  const write = (fn: (store: IDBObjectStore) => void): Promise<void> => {
    const tx = db.transaction(STORE, 'readwrite');
    fn(tx.objectStore(STORE));
    return done(tx);
  };
  return {
    put: (entry) => write((store) => store.put(entry)),
    remove: (tempId) => write((store) => store.delete(tempId)),
    async all() {
      const entries = await promisify(db.transaction(STORE, 'readonly').objectStore(STORE).getAll());
      return (entries as OutboxEntry[]).sort((a, b) => a.order - b.order);
    },
    close: () => db.close(),
  };
}

/** Used when IndexedDB is unavailable (private mode in some browsers): the outbox still works in memory. */
export function memoryOutboxDb(): OutboxDb {
  const entries = new Map<string, OutboxEntry>();
  return {
    put: async (entry) => void entries.set(entry.temp_id, { ...entry }),
    remove: async (tempId) => void entries.delete(tempId),
    all: async () => [...entries.values()].sort((a, b) => a.order - b.order),
    close: () => undefined,
  };
}

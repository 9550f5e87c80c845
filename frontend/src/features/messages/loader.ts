import type { Api } from '../../lib/api/client';
import type { SyncCoordinator } from '../../lib/realtime/sync';
import type { ChatStore } from '../../app/store';
import { indexOfId, newestId, newestSeq, oldestId } from './timeline';

/** History page size: the API's maximum, so a long scroll makes half as many requests and prepends. */
const PAGE = 100;

/** History paging for one room, through the cursor API, keeping the sync cursor in step. */
export class MessageLoader {
  private readonly opening = new Map<number, Promise<void>>();

  constructor(
    private readonly store: ChatStore,
    private readonly api: Api,
    private readonly sync: SyncCoordinator,
  ) {}

  private timeline(room: number) {
    return this.store.getState().timelines[room];
  }

  /** First open of a room: its newest page. Later opens keep what is loaded (sync keeps it current). */
  open(room: number): Promise<void> {
    if (this.timeline(room)?.loaded) return Promise.resolve();
    let opening = this.opening.get(room);
    if (!opening) {
      opening = this.reloadLatest(room).finally(() => this.opening.delete(room));
      this.opening.set(room, opening);
    }
    return opening;
  }

  async reloadLatest(room: number): Promise<void> {
    const page = await this.api.history({ room, limit: PAGE });
    this.store.getState().loadLatest(room, page);
    const t = this.timeline(room)!;
    this.sync.retrack(room, newestSeq(t), t.changeSeq);
    // Anything that arrived between the page query and now comes with this sync.
    this.sync.request(room);
  }

  async loadOlder(room: number): Promise<void> {
    const t = this.timeline(room);
    const before = t ? oldestId(t) : null;
    if (!t || !t.hasMoreBefore || t.loadingOlder || before === null) return;
    this.store.getState().setPaging(room, 'older', true);
    try {
      this.store.getState().prependOlder(room, await this.api.history({ room, limit: PAGE, before }));
    } catch (error) {
      this.store.getState().setPaging(room, 'older', false);
      throw error;
    }
  }

  async loadNewer(room: number): Promise<void> {
    const t = this.timeline(room);
    const after = t ? newestId(t) : null;
    if (!t || !t.hasMoreAfter || t.loadingNewer || after === null) return;
    this.store.getState().setPaging(room, 'newer', true);
    try {
      this.store.getState().appendNewer(room, await this.api.history({ room, limit: PAGE, after }));
    } catch (error) {
      this.store.getState().setPaging(room, 'newer', false);
      throw error;
    }
    const next = this.timeline(room)!;
    if (!next.hasMoreAfter) {
      this.sync.track(room, newestSeq(next), next.changeSeq);
      this.sync.request(room);
    }
  }

  /** Jump to a message: in place when loaded, else the `around` page replaces the window. */
  async jumpTo(room: number, messageId: number): Promise<void> {
    const t = this.timeline(room);
    if (t && indexOfId(t, messageId) >= 0) return;
    const page = await this.api.history({ room, limit: PAGE, around: messageId });
    this.store.getState().loadAround(room, page);
  }
}

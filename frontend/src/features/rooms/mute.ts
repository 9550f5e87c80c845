import type { Api } from '../../lib/api/client';
import type { ChatStore } from '../../app/store';

type MuteApi = Pick<Api, 'muteRoom' | 'unmuteRoom'>;

/**
 * Mute or unmute a room's push notifications for this user. The header shows the new state at
 * once; the server's answer settles it, and a failed call puts the old state back and rethrows
 * (the caller tells the user). The socket delivers a muted room's messages as before.
 */
export async function setRoomMuted(store: ChatStore, api: MuteApi, roomId: number, muted: boolean): Promise<void> {
  const before = store.getState().rooms[roomId]?.muted ?? false;
  store.getState().setRoomMuted(roomId, muted);
  try {
    const answer = muted ? await api.muteRoom(roomId) : await api.unmuteRoom(roomId);
    store.getState().setRoomMuted(roomId, answer.muted);
  } catch (error) {
    store.getState().setRoomMuted(roomId, before);
    throw error;
  }
}

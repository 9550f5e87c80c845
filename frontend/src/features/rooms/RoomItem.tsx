import { memo } from 'react';
import { useChat } from '../../app/store';
import { PresenceDot } from '../presence/PresenceDot';
import { unreadCount } from './watermarks';
import { initials, otherMembers, roomTitle } from './naming';

function preview(content: string | undefined, deleted: boolean | undefined, mine: boolean): string {
  if (content === undefined) return 'No messages yet';
  const text = deleted ? 'message deleted' : content;
  return mine ? `You: ${text}` : text;
}

export const RoomItem = memo(function RoomItem({ roomId, active, onOpen }: { roomId: number; active: boolean; onOpen: (id: number) => void }) {
  const room = useChat((s) => s.rooms[roomId]);
  const myId = useChat((s) => s.me?.id ?? null);
  if (!room) return null;
  const title = roomTitle(room, myId);
  const unread = unreadCount(room);
  const last = room.last_message;
  const peer = room.kind === 'direct' ? otherMembers(room, myId)[0] : undefined;
  return (
    <li
      className={`room-item ${active ? 'is-active' : ''} ${unread ? 'has-unread' : ''}`}
      data-testid="room-item"
      data-room-id={room.id}
      data-unread={unread}
      onClick={() => onOpen(room.id)}
    >
      <div className="room-avatar">
        {initials(title)}
        {peer && <PresenceDot userId={peer.id} />}
      </div>
      <div className="room-text">
        <div className="room-title-row">
          <span className="room-title">{title}</span>
          {last && <span className="room-time">{formatTime(last.created_at)}</span>}
        </div>
        <div className="room-preview-row">
          <span className="room-preview">{preview(last?.content, last?.deleted, last?.user.id === myId)}</span>
          {unread > 0 && <span className="unread-badge">{unread > 99 ? '99+' : unread}</span>}
        </div>
      </div>
    </li>
  );
});

// Built once: toLocaleTimeString / toLocaleDateString build a formatter on every call (~0.3 ms per
// row in Chromium), and every room row re-renders when its last message changes.
const timeOfDay = new Intl.DateTimeFormat([], { hour: '2-digit', minute: '2-digit' });
const dayOfYear = new Intl.DateTimeFormat([], { month: 'short', day: 'numeric' });

export function formatTime(iso: string): string {
  const date = new Date(iso);
  const today = new Date();
  const sameDay = date.getFullYear() === today.getFullYear() && date.getMonth() === today.getMonth() && date.getDate() === today.getDate();
  return sameDay ? timeOfDay.format(date) : dayOfYear.format(date);
}

import { useChat } from '../../app/store';
import { PresenceDot } from '../presence/PresenceDot';
import { MuteButton } from './MuteButton';
import { roomTitle } from './naming';

export function RoomHeader({ roomId }: { roomId: number }) {
  const room = useChat((s) => s.rooms[roomId]);
  const myId = useChat((s) => s.me?.id ?? null);
  const online = useChat((s) => s.online);
  if (!room) return <header className="chat-header" />;
  // A direct room shows the other person's state; a group counts everyone online, you included
  // (the member list next to it shows your own green dot, so "0 online" read as a contradiction).
  const onlineCount = room.members.filter((m) => (room.kind !== 'direct' || m.id !== myId) && online[m.id]).length;
  return (
    <header className="chat-header">
      <div>
        <div className="chat-title-row">
          <div className="chat-title">{roomTitle(room, myId)}</div>
          <MuteButton roomId={roomId} />
        </div>
        <div className="chat-subtitle">
          {room.kind === 'direct'
            ? onlineCount ? 'online' : 'offline'
            : `${room.members.length} members, ${onlineCount} online`}
        </div>
      </div>
      <ul className="member-list" aria-label="Members">
        {room.members.map((m) => (
          <li key={m.id} className="member" data-testid="room-member" data-user-id={m.id}>
            <PresenceDot userId={m.id} />
            {m.id === myId ? `${m.username} (you)` : m.username}
          </li>
        ))}
      </ul>
    </header>
  );
}

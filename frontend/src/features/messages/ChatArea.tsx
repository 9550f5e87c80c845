import { Alert } from 'antd';
import { useEffect, useState } from 'react';
import { ApiError } from '../../lib/api/http';
import { useServices } from '../../app/SessionContext';
import { useChat } from '../../app/store';
import { RoomHeader } from '../rooms/RoomHeader';
import { TypingIndicator } from '../typing/TypingIndicator';
import { MessageInput } from './MessageInput';
import { MessageList } from './list/MessageList';

/** The open room: header, messages, typing line and the composer. */
export function ChatArea({ roomId, messageId }: { roomId: number; messageId: number | null }) {
  const { session } = useServices();
  const known = useChat((s) => Boolean(s.rooms[roomId]));
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    setError(null);
    const load = messageId !== null ? session.loader.jumpTo(roomId, messageId) : session.loader.open(roomId);
    load.catch((e: unknown) => setError(e instanceof ApiError && e.status === 404 ? 'This conversation does not exist or you are not a member.' : 'Could not load messages.'));
    if (!known) void session.refreshRooms().catch(() => undefined);
  }, [roomId, messageId, session, known]);

  return (
    <section className="chat-area">
      <RoomHeader roomId={roomId} />
      {error && <Alert type="error" title={error} showIcon className="chat-error" />}
      <MessageList roomId={roomId} focusMessageId={messageId} />
      <TypingIndicator roomId={roomId} />
      <MessageInput roomId={roomId} />
    </section>
  );
}

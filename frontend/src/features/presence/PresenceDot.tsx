import { useChat } from '../../app/store';

export function PresenceDot({ userId }: { userId: number }) {
  const online = useChat((s) => Boolean(s.online[userId]));
  return <span className={`presence-dot ${online ? 'is-online' : ''}`} title={online ? 'online' : 'offline'} />;
}

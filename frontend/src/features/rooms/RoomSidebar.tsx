import { LogoutOutlined, PlusOutlined } from '@ant-design/icons';
import { Button, Tooltip } from 'antd';
import { useCallback, useMemo, useState } from 'react';
import { navigate, roomPath } from '../../app/router';
import { useServices } from '../../app/SessionContext';
import { chatStore, useChat } from '../../app/store';
import { logOut } from '../auth/actions';
import { ConnectionStatus } from '../connection/ConnectionStatus';
import { NotificationsSettings } from '../notifications/NotificationsToggle';
import { NewRoomDialog } from './NewRoomDialog';
import { RoomItem } from './RoomItem';

/** Rooms by latest activity: last message time, else creation time. */
function useRoomOrder(): number[] {
  const rooms = useChat((s) => s.rooms);
  return useMemo(
    () =>
      Object.values(rooms)
        .map((r) => ({ id: r.id, at: r.last_message?.created_at ?? r.created_at ?? '' }))
        .sort((a, b) => (a.at < b.at ? 1 : a.at > b.at ? -1 : b.id - a.id))
        .map((r) => r.id),
    [rooms],
  );
}

export function RoomSidebar({ activeRoomId }: { activeRoomId: number | null }) {
  const me = useChat((s) => s.me);
  const order = useRoomOrder();
  const { push } = useServices();
  const [creating, setCreating] = useState(false);
  // This device stops getting the user's notifications before the token goes.
  const signOut = useCallback(() => void push.forget().finally(() => logOut(chatStore)), [push]);
  const open = useCallback((id: number) => navigate(roomPath(id)), []);

  return (
    <aside className="sidebar">
      <header className="sidebar-header">
        <div>
          <div className="sidebar-user">{me?.username}</div>
          <ConnectionStatus />
        </div>
        <div className="sidebar-actions">
          <Tooltip title="New conversation">
            <Button data-testid="new-room" type="primary" shape="circle" icon={<PlusOutlined />} onClick={() => setCreating(true)} />
          </Tooltip>
          <NotificationsSettings toggle={push} />
          <Tooltip title="Sign out">
            <Button type="text" shape="circle" icon={<LogoutOutlined />} onClick={signOut} />
          </Tooltip>
        </div>
      </header>
      <ul className="room-list" data-testid="room-list">
        {order.map((id) => (
          <RoomItem key={id} roomId={id} active={id === activeRoomId} onOpen={open} />
        ))}
        {order.length === 0 && <li className="room-list-empty">No conversations yet.</li>}
      </ul>
      <NewRoomDialog open={creating} onClose={() => setCreating(false)} />
    </aside>
  );
}

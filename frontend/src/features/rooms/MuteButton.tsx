import { BellFilled, BellOutlined } from '@ant-design/icons';
import { App, Button, Tooltip } from 'antd';
import { useState } from 'react';
import { api } from '../../lib/api/client';
import { chatStore, useChat } from '../../app/store';
import { setRoomMuted } from './mute';

/** The room header's bell: filled while notifications come, crossed out while muted. */
export function MuteButton({ roomId }: { roomId: number }) {
  const muted = useChat((s) => s.rooms[roomId]?.muted ?? false);
  const [busy, setBusy] = useState(false);
  const { message } = App.useApp();
  const label = muted ? 'Unmute notifications of this room' : 'Mute notifications of this room';

  const toggle = () => {
    setBusy(true);
    setRoomMuted(chatStore, api, roomId, !muted)
      .catch(() => void message.error('Could not change the room’s notifications; try again.'))
      .finally(() => setBusy(false));
  };

  return (
    <Tooltip title={label}>
      <Button
        type="text"
        shape="circle"
        data-testid="room-mute"
        data-muted={muted}
        aria-label={label}
        aria-pressed={muted}
        loading={busy}
        className={muted ? 'bell is-muted' : 'bell'}
        icon={muted ? <BellOutlined /> : <BellFilled />}
        onClick={toggle}
      />
    </Tooltip>
  );
}

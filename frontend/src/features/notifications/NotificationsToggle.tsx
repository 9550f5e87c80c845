import { SettingOutlined } from '@ant-design/icons';
import { Button, Popover, Switch, Tooltip } from 'antd';
import { useState } from 'react';
import { useChat } from '../../app/store';
import type { PushState, PushToggle } from './push';

const DESCRIPTION: Record<PushState['status'], string> = {
  checking: 'Checking this browser…',
  unsupported: 'This browser cannot show push notifications.',
  unavailable: 'This server does not send push notifications.',
  denied: 'Notifications are blocked for this site in the browser.',
  off: 'Off: nothing arrives on this device while the app is closed.',
  enabling: 'Asking the browser…',
  on: 'On: this device is notified of new messages while the app is closed.',
  disabling: 'Turning off…',
};

function NotificationsPanel({ toggle }: { toggle: PushToggle }) {
  const push = useChat((s) => s.push);
  const busy = push.status === 'enabling' || push.status === 'disabling';
  const fixed = push.status === 'unsupported' || push.status === 'unavailable' || push.status === 'checking';
  const onChange = (on: boolean) => void (on ? toggle.enable() : toggle.disable());
  return (
    <div className="notifications-settings">
      <label className="notifications-row">
        <span>Notifications</span>
        <Switch
          data-testid="notifications-toggle"
          checked={push.status === 'on' || push.status === 'disabling'}
          loading={busy}
          disabled={fixed || busy}
          onChange={onChange}
        />
      </label>
      <div className="notifications-status" data-testid="notifications-status" data-status={push.status} role="status">
        {push.error ?? DESCRIPTION[push.status]}
      </div>
    </div>
  );
}

/** The settings button in the sidebar header: this device's notifications, on or off. */
export function NotificationsSettings({ toggle }: { toggle: PushToggle }) {
  const [open, setOpen] = useState(false);
  const on = useChat((s) => s.push.status === 'on');
  return (
    <Popover
      title="Settings"
      trigger="click"
      open={open}
      onOpenChange={setOpen}
      content={<NotificationsPanel toggle={toggle} />}
      placement="bottomRight"
    >
      <Tooltip title="Settings">
        <Button data-testid="settings-open" data-push={on ? 'on' : 'off'} type="text" shape="circle" icon={<SettingOutlined />} />
      </Tooltip>
    </Popover>
  );
}

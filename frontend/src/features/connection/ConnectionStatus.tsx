import { Tooltip } from 'antd';
import { useChat } from '../../app/store';

const LABEL = { online: 'Online', connecting: 'Connecting…', offline: 'Offline' } as const;

export function ConnectionStatus() {
  const state = useChat((s) => s.connection);
  const error = useChat((s) => s.connectionError);
  return (
    <Tooltip title={error ?? (state === 'offline' ? 'Messages you write are kept and sent when the connection is back.' : undefined)}>
      <span className={`connection-status is-${state}`} data-testid="connection-status" data-state={state}>
        <span className="connection-dot" />
        {LABEL[state]}
      </span>
    </Tooltip>
  );
}

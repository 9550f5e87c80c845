import { memo, useContext, createContext } from 'react';
import type { MessageStatus } from '../../receipts/status';
import type { ChatMessage } from '../model';

export const QUICK_REACTIONS = ['👍', '❤️', '😂', '🎉', '😮', '😢'];

/** Row callbacks, provided once by the list so rows hold no closures of their own. */
export interface RowActions {
  react: (message: ChatMessage, emoji: string) => void;
  edit: (message: ChatMessage) => void;
  remove: (message: ChatMessage) => void;
  retry: (tempId: string) => void;
  discard: (tempId: string) => void;
}
export const RowActionsContext = createContext<RowActions | null>(null);

const TICKS: Record<MessageStatus, string> = { pending: '🕓', failed: '!', sent: '✓', delivered: '✓✓', read: '✓✓' };

const timeFormat = new Intl.DateTimeFormat([], { hour: '2-digit', minute: '2-digit' });

interface RowProps {
  message: ChatMessage;
  status: MessageStatus;
  mine: boolean;
  myId: number;
  showAuthor: boolean;
  highlighted: boolean;
}

function Reactions({ message, myId }: { message: ChatMessage; myId: number }) {
  const actions = useContext(RowActionsContext)!;
  if (message.reactions.length === 0) return null;
  return (
    <div className="reactions">
      {message.reactions.map((r) => (
        <button
          key={r.emoji}
          type="button"
          className={`reaction-chip ${r.users.includes(myId) ? 'is-mine' : ''}`}
          data-testid="reaction-chip"
          onClick={() => actions.react(message, r.emoji)}
        >
          {r.emoji} {r.count}
        </button>
      ))}
    </div>
  );
}

function Toolbar({ message, mine }: { message: ChatMessage; mine: boolean }) {
  const actions = useContext(RowActionsContext)!;
  if (message.local || message.deleted) return null;
  return (
    <div className="message-toolbar">
      {QUICK_REACTIONS.map((emoji) => (
        <button key={emoji} type="button" title={`React ${emoji}`} onClick={() => actions.react(message, emoji)}>
          {emoji}
        </button>
      ))}
      {mine && (
        <>
          <button type="button" data-testid="message-edit" onClick={() => actions.edit(message)}>Edit</button>
          <button type="button" data-testid="message-delete" onClick={() => actions.remove(message)}>Delete</button>
        </>
      )}
    </div>
  );
}

function FailedActions({ tempId }: { tempId: string }) {
  const actions = useContext(RowActionsContext)!;
  return (
    <div className="failed-actions">
      Not sent.
      <button type="button" data-testid="message-retry" onClick={() => actions.retry(tempId)}>Retry</button>
      <button type="button" data-testid="message-discard" onClick={() => actions.discard(tempId)}>Discard</button>
    </div>
  );
}

/** One message. Memoized: a row re-renders only when its message object or status changes. */
export const MessageRow = memo(function MessageRow({ message, status, mine, myId, showAuthor, highlighted }: RowProps) {
  const idAttrs = message.seq !== null
    ? { 'data-message-id': message.id ?? undefined, 'data-seq': message.seq }
    : { 'data-temp-id': message.temp_id ?? undefined };
  return (
    <div
      className={`message ${mine ? 'is-mine' : ''} ${highlighted ? 'is-highlighted' : ''} is-${status}`}
      data-testid="message-item"
      data-status={status}
      {...idAttrs}
    >
      {showAuthor && !mine && <div className="message-author" dir="auto">{message.user.username}</div>}
      <div className="message-bubble">
        {message.deleted ? (
          <span className="message-deleted" data-testid="message-content">message deleted</span>
        ) : (
          // Isolated, with its own direction: a right-to-left override in the text stays inside it.
          <span className="message-content" data-testid="message-content" dir="auto">{message.content}</span>
        )}
        <span className="message-meta">
          {message.edited_at && !message.deleted && <span className="message-edited">edited</span>}
          <time dateTime={message.created_at}>{timeFormat.format(new Date(message.created_at))}</time>
          {mine && <span className={`ticks is-${status}`} aria-label={status}>{TICKS[status]}</span>}
        </span>
        <Toolbar message={message} mine={mine} />
      </div>
      <Reactions message={message} myId={myId} />
      {message.local === 'failed' && message.temp_id && <FailedActions tempId={message.temp_id} />}
    </div>
  );
});

import { SendOutlined } from '@ant-design/icons';
import { Button } from 'antd';
import { useRef, useState, type KeyboardEvent } from 'react';
import { useServices } from '../../app/SessionContext';
import { sendMessage } from './actions';

/** Longest message the input accepts, in code points (the server counts the same way). */
const MAX_LENGTH = 4000;

export function MessageInput({ roomId }: { roomId: number }) {
  const services = useServices();
  const [value, setValue] = useState('');
  const ref = useRef<HTMLTextAreaElement>(null);

  const send = (startedAt: number) => {
    const content = value.trim();
    if (!content) return;
    // Clear the box in the same commit as the pending row.
    setValue('');
    sendMessage(services, roomId, content, startedAt);
  };

  const onKeyDown = (e: KeyboardEvent<HTMLTextAreaElement>) => {
    if (e.key !== 'Enter' || e.shiftKey || e.nativeEvent.isComposing) return;
    e.preventDefault();
    send(e.timeStamp);
  };

  const onChange = (text: string) => {
    setValue(text);
    if (text.trim()) services.session.typing.input(roomId);
    else services.session.typing.stop(roomId);
  };

  return (
    <div className="composer">
      <textarea
        ref={ref}
        className="composer-input"
        data-testid="message-input"
        rows={1}
        placeholder="Write a message…"
        value={value}
        maxLength={MAX_LENGTH}
        onChange={(e) => onChange(e.target.value)}
        onKeyDown={onKeyDown}
        onBlur={() => services.session.typing.stop(roomId)}
        autoFocus
      />
      <Button
        data-testid="message-send"
        type="primary"
        shape="circle"
        icon={<SendOutlined />}
        disabled={!value.trim()}
        onClick={(e) => {
          send(e.timeStamp);
          ref.current?.focus();
        }}
        aria-label="Send"
      />
    </div>
  );
}

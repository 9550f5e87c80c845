import { useChat } from '../../app/store';

const NOBODY: Record<number, string> = {};

function sentence(names: string[]): string {
  if (names.length === 0) return '';
  if (names.length === 1) return `${names[0]} is typing…`;
  if (names.length === 2) return `${names[0]} and ${names[1]} are typing…`;
  return `${names.length} people are typing…`;
}

export function TypingIndicator({ roomId }: { roomId: number }) {
  const typing = useChat((s) => s.typing[roomId] ?? NOBODY);
  const text = sentence(Object.values(typing));
  return (
    <div className="typing-indicator" data-testid="typing-indicator" aria-live="polite">
      {text}
    </div>
  );
}

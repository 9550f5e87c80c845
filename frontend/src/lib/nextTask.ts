/**
 * Run `task` in a task of its own, queued now, in call order (a MessageChannel message: no timer
 * clamping, and it runs after the current task has rendered nothing yet has to wait for a timer).
 */
export const nextTask: (task: () => void) => void = (() => {
  const queue: (() => void)[] = [];
  let channel: MessageChannel | null = null;
  return (task: () => void) => {
    if (!channel) {
      channel = new MessageChannel();
      channel.port1.onmessage = () => queue.shift()?.();
    }
    queue.push(task);
    channel.port2.postMessage(null);
  };
})();

/**
 * Run `task` in a task of its own, queued now, tasks in call order. A MessageChannel message, not
 * a timer: no clamping, so it runs as soon as the current task (and its rendering) is done.
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

import { Spin } from 'antd';
import { useEffect, useState } from 'react';
import { forgetLogin } from '../features/auth/actions';
import { ChatArea } from '../features/messages/ChatArea';
import { browserPush, pushSupported, registerServiceWorker, serverPush } from '../features/notifications/browser';
import { followNotificationClicks } from '../features/notifications/clicks';
import { PushToggle } from '../features/notifications/push';
import { RoomSidebar } from '../features/rooms/RoomSidebar';
import { startRum } from '../features/rum/reporter';
import { navigate, type Route } from './router';
import { startSession } from './session';
import { ServicesContext, type AppServices } from './SessionContext';
import { chatStore, useChat } from './store';
import { followTabTitle } from './tabTitle';

/** The logged-in screen: owns the session (socket, outbox) for as long as it is mounted. */
export function ChatScreen({ route }: { route: Route }) {
  const me = useChat((s) => s.me);
  const [services, setServices] = useState<AppServices | null>(null);

  useEffect(() => {
    if (!me) return;
    let stopped = false;
    let running: AppServices | null = null;
    void startSession(chatStore, me, () => forgetLogin(chatStore)).then((session) => {
      running = { session, rum: startRum(), push: startPush() };
      if (stopped) return stopServices(running);
      setServices(running);
    });
    return () => {
      stopped = true;
      if (running) stopServices(running);
      setServices(null);
    };
  }, [me]);

  // The tab title counts unread while hidden; a notification's click lands in the open window.
  useEffect(() => followTabTitle(chatStore), []);
  useEffect(() => followNotificationClicks((path) => navigate(path)), []);

  const roomId = route.name === 'room' ? route.roomId : null;
  const messageId = route.name === 'room' ? route.messageId : null;

  if (!services) return <Spin size="large" className="boot-spinner" />;
  return (
    <ServicesContext.Provider value={services}>
      <div className="chat-layout">
        <RoomSidebar activeRoomId={roomId} />
        <main className="chat-main">
          {roomId !== null ? (
            <ChatArea key={roomId} roomId={roomId} messageId={messageId} />
          ) : (
            <div className="empty-state">Choose a conversation, or start a new one.</div>
          )}
        </main>
      </div>
    </ServicesContext.Provider>
  );
}

/** This device's push toggle, started from what the browser already has (no prompt here). The
 * service worker is registered on every start: a click on an earlier notification needs it. */
function startPush(): PushToggle {
  const push = new PushToggle(browserPush, serverPush, (state) => chatStore.getState().setPush(state));
  if (pushSupported()) registerServiceWorker().catch(() => undefined);
  void push.start();
  return push;
}

function stopServices(services: AppServices): void {
  services.session.stop();
  services.rum.stop();
}

import { Spin } from 'antd';
import { useEffect, useState } from 'react';
import { forgetLogin } from '../features/auth/actions';
import { ChatArea } from '../features/messages/ChatArea';
import { RoomSidebar } from '../features/rooms/RoomSidebar';
import { startRum } from '../features/rum/reporter';
import type { Route } from './router';
import { startSession } from './session';
import { ServicesContext, type AppServices } from './SessionContext';
import { chatStore, useChat } from './store';

/** The logged-in screen: owns the session (socket, outbox) for as long as it is mounted. */
export function ChatScreen({ route }: { route: Route }) {
  const me = useChat((s) => s.me);
  const [services, setServices] = useState<AppServices | null>(null);

  useEffect(() => {
    if (!me) return;
    let stopped = false;
    let running: AppServices | null = null;
    void startSession(chatStore, me, () => forgetLogin(chatStore)).then((session) => {
      running = { session, rum: startRum() };
      if (stopped) return stopServices(running);
      setServices(running);
    });
    return () => {
      stopped = true;
      if (running) stopServices(running);
      setServices(null);
    };
  }, [me]);

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

function stopServices(services: AppServices): void {
  services.session.stop();
  services.rum.stop();
}

import { App as AntApp, ConfigProvider, Spin } from 'antd';
import { useEffect } from 'react';
import { LoginScreen } from '../features/auth/LoginScreen';
import { followLogoutInOtherTabs, restoreLogin } from '../features/auth/actions';
import { ChatScreen } from './ChatScreen';
import { navigate, parseRoute, usePath } from './router';
import { chatStore, useChat } from './store';
import { theme } from './theme';

function Screens() {
  const authStatus = useChat((s) => s.authStatus);
  const route = parseRoute(usePath());

  useEffect(() => {
    void restoreLogin(chatStore);
    return followLogoutInOtherTabs(chatStore);
  }, []);

  useEffect(() => {
    if (authStatus === 'anonymous' && route.name !== 'login' && route.name !== 'register') navigate('/login', true);
    if (authStatus === 'authenticated' && (route.name === 'login' || route.name === 'register')) navigate('/', true);
  }, [authStatus, route.name]);

  if (authStatus === 'unknown') return <Spin size="large" className="boot-spinner" />;
  if (authStatus === 'anonymous') return <LoginScreen mode={route.name === 'register' ? 'register' : 'login'} />;
  return <ChatScreen route={route} />;
}

export function App() {
  return (
    <ConfigProvider theme={theme}>
      <AntApp>
        <Screens />
      </AntApp>
    </ConfigProvider>
  );
}

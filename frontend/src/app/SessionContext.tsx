import { createContext, useContext } from 'react';
import type { PushToggle } from '../features/notifications/push';
import type { Rum } from '../features/rum/reporter';
import type { Session } from './session';

export interface AppServices {
  session: Session;
  rum: Rum;
  push: PushToggle;
}

export const ServicesContext = createContext<AppServices | null>(null);

export function useServices(): AppServices {
  const services = useContext(ServicesContext);
  if (!services) throw new Error('useServices outside a running session');
  return services;
}

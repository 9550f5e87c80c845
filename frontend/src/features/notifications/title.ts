/** The tab's title: the app's name, and while the tab is hidden the unread total in front of it,
 * as mail and chat tabs do ("(3) Chat"), so a glance at the tab strip tells. */
export const APP_TITLE = 'Chat';

export function tabTitle(unreadTotal: number, hidden: boolean): string {
  if (!hidden || unreadTotal <= 0) return APP_TITLE;
  return `(${unreadTotal > 999 ? '999+' : unreadTotal}) ${APP_TITLE}`;
}

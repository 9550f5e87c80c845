import { App, Input, Modal } from 'antd';
import { memo, useCallback, useEffect, useMemo, useState } from 'react';
import { useServices } from '../../../app/SessionContext';
import { deleteMessage, discardSend, editMessage, retrySend, toggleReaction } from '../actions';
import type { ChatMessage } from '../model';
import type { RowActions } from './MessageRow';

const FAILED = 'That did not go through. Try again.';

/**
 * The edit dialog, in its own component: the list re-renders on every new message, and an antd
 * Modal (even closed) costs a few hundred microseconds of style hooks per render.
 */
const EditDialog = memo(function EditDialog({ editing, onClose }: { editing: ChatMessage | null; onClose: () => void }) {
  const services = useServices();
  const { message: toast } = App.useApp();
  const [draft, setDraft] = useState('');
  useEffect(() => setDraft(editing?.content ?? ''), [editing]);
  const saveEdit = () => {
    const content = draft.trim();
    if (editing && content && content !== editing.content)
      void editMessage(services, editing, content).catch(() => toast.error(FAILED));
    onClose();
  };
  return (
    <Modal title="Edit message" open={editing !== null} onOk={saveEdit} onCancel={onClose} okText="Save" destroyOnHidden>
      <Input.TextArea data-testid="message-edit-input" value={draft} onChange={(e) => setDraft(e.target.value)} autoSize={{ minRows: 2, maxRows: 8 }} />
    </Modal>
  );
});

/** Row callbacks (one object for all rows) plus the dialogs they open: edit, and confirm delete. */
export function useRowActions(myId: number) {
  const services = useServices();
  const { modal, message: toast } = App.useApp();
  const [editing, setEditing] = useState<ChatMessage | null>(null);
  const fail = useCallback(() => toast.error(FAILED), [toast]);
  const closeEdit = useCallback(() => setEditing(null), []);
  const actions = useMemo<RowActions>(
    () => ({
      react: (m, emoji) => void toggleReaction(services, m, emoji, myId).catch(fail),
      edit: (m) => setEditing(m),
      remove: (m) =>
        modal.confirm({
          title: 'Delete this message?',
          content: 'It is removed for everyone in the conversation.',
          okText: 'Delete',
          okButtonProps: { danger: true },
          onOk: () => deleteMessage(services, m).catch(fail),
        }),
      retry: (tempId) => retrySend(services, tempId),
      discard: (tempId) => discardSend(services, tempId),
    }),
    [services, myId, modal, fail],
  );
  const dialogs = <EditDialog editing={editing} onClose={closeEdit} />;
  return { actions, dialogs };
}

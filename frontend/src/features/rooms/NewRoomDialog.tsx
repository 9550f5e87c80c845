import { Form, Input, Modal, Radio, Select, App } from 'antd';
import { useEffect, useRef, useState } from 'react';
import { api } from '../../lib/api/client';
import { ApiError } from '../../lib/api/http';
import type { User } from '../../lib/api/types';
import { navigate, roomPath } from '../../app/router';
import { chatStore, useChat } from '../../app/store';

interface Fields {
  kind: 'direct' | 'group';
  name?: string;
  members: number[];
}

/** People search over GET /api/users/?search=, debounced so typing does not flood the API. */
function usePeopleSearch(myId: number | null) {
  const [query, setQuery] = useState('');
  const [people, setPeople] = useState<User[]>([]);
  const [loading, setLoading] = useState(false);
  const latest = useRef(0);
  useEffect(() => {
    const ticket = ++latest.current;
    setLoading(true);
    const timer = setTimeout(() => {
      api
        .searchUsers(query)
        .then((users) => ticket === latest.current && setPeople(users.filter((u) => u.id !== myId)))
        .catch(() => undefined)
        .finally(() => ticket === latest.current && setLoading(false));
    }, 250);
    return () => clearTimeout(timer);
  }, [query, myId]);
  return { people, loading, setQuery };
}

export function NewRoomDialog({ open, onClose }: { open: boolean; onClose: () => void }) {
  const [form] = Form.useForm<Fields>();
  const myId = useChat((s) => s.me?.id ?? null);
  const { people, loading, setQuery } = usePeopleSearch(myId);
  const [busy, setBusy] = useState(false);
  const kind = Form.useWatch('kind', form) ?? 'direct';
  const { message } = App.useApp();

  const create = async () => {
    const values = await form.validateFields();
    setBusy(true);
    try {
      const names = people.filter((p) => values.members.includes(p.id)).map((p) => p.username);
      const room = await api.createRoom(values.name?.trim() || names.join(', '), values.members, values.kind);
      chatStore.getState().upsertRoom(room);
      form.resetFields();
      onClose();
      navigate(roomPath(room.id));
    } catch (e) {
      message.error(e instanceof ApiError ? e.detail : 'Could not create the conversation.');
    } finally {
      setBusy(false);
    }
  };

  return (
    <Modal title="New conversation" open={open} onOk={create} onCancel={onClose} okText="Create" confirmLoading={busy} destroyOnHidden>
      <Form form={form} layout="vertical" initialValues={{ kind: 'direct', members: [] }} preserve={false}>
        <Form.Item name="kind">
          <Radio.Group
            optionType="button"
            options={[
              { label: 'Direct message', value: 'direct' },
              { label: 'Group', value: 'group' },
            ]}
          />
        </Form.Item>
        {kind === 'group' && (
          <Form.Item name="name" label="Group name" rules={[{ required: true, message: 'Name the group' }]}>
            <Input data-testid="new-room-name" maxLength={100} />
          </Form.Item>
        )}
        <Form.Item
          name="members"
          label="People"
          rules={[
            { required: true, message: 'Pick at least one person' },
            { validator: (_, v: number[]) => (kind === 'direct' && v?.length > 1 ? Promise.reject(new Error('A direct message has one other person')) : Promise.resolve()) },
          ]}
        >
          <Select
            data-testid="new-room-members"
            mode="multiple"
            showSearch={{ filterOption: false, onSearch: setQuery }}
            loading={loading}
            placeholder="Search people by name"
            options={people.map((p) => ({ label: p.username, value: p.id }))}
          />
        </Form.Item>
      </Form>
    </Modal>
  );
}

import { Alert, Button, Card, Form, Input, Typography } from 'antd';
import { useState } from 'react';
import { ApiError } from '../../lib/api/http';
import { chatStore } from '../../app/store';
import { navigate } from '../../app/router';
import { logIn } from './actions';

interface Fields {
  username: string;
  password: string;
}

export function LoginScreen({ mode }: { mode: 'login' | 'register' }) {
  const [form] = Form.useForm<Fields>();
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const register = mode === 'register';

  const submit = async ({ username, password }: Fields) => {
    setBusy(true);
    setError(null);
    try {
      await logIn(chatStore, username, password, register);
      navigate('/', true);
    } catch (e) {
      if (e instanceof ApiError) {
        form.setFields(
          (['username', 'password'] as const).map((name) => ({ name, errors: e.errors[name] ?? [] })),
        );
        setError(e.detail || 'Could not sign in.');
      } else setError('The server cannot be reached.');
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="auth-screen">
      <Card className="auth-card">
        <Typography.Title level={3}>{register ? 'Create an account' : 'Sign in to Chat'}</Typography.Title>
        {error && <Alert type="error" title={error} showIcon className="auth-error" />}
        <Form form={form} layout="vertical" onFinish={submit} requiredMark={false}>
          <Form.Item name="username" label="Username" rules={[{ required: true, message: 'Enter a username' }]}>
            <Input data-testid="login-username" autoComplete="username" autoFocus />
          </Form.Item>
          <Form.Item name="password" label="Password" rules={[{ required: true, message: 'Enter a password' }]}>
            <Input.Password data-testid="login-password" autoComplete={register ? 'new-password' : 'current-password'} />
          </Form.Item>
          <Button data-testid="login-submit" type="primary" htmlType="submit" block loading={busy}>
            {register ? 'Create account' : 'Sign in'}
          </Button>
        </Form>
        <div className="auth-switch">
          {register ? 'Already have an account? ' : 'New here? '}
          <a
            data-testid="register-link"
            href={register ? '/login' : '/register'}
            onClick={(e) => {
              e.preventDefault();
              setError(null);
              navigate(register ? '/login' : '/register');
            }}
          >
            {register ? 'Sign in' : 'Create an account'}
          </a>
        </div>
      </Card>
    </div>
  );
}

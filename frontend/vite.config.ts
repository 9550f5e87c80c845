import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

const backend = 'http://127.0.0.1:8000';

export default defineConfig({
  base: '/',
  plugins: [react()],
  build: {
    outDir: 'dist',
    assetsDir: 'assets',
    // antd is one big vendor chunk by nature; keep the warning meaningful for our own code.
    chunkSizeWarningLimit: 1500,
  },
  server: {
    proxy: {
      '/api': backend,
      '/metrics': backend,
      '/healthz': backend,
      '/ws': { target: backend, ws: true },
    },
  },
});

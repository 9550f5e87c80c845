import type { ThemeConfig } from 'antd';

/** Noto Sans Georgian first: its @font-face rules cover only Georgian code points, so Latin falls through to the system UI font. */
export const FONT_STACK =
  "'Noto Sans Georgian', system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif";

export const theme: ThemeConfig = {
  token: {
    colorPrimary: '#2f6fed',
    fontFamily: FONT_STACK,
    borderRadius: 8,
    colorBgLayout: '#f5f7fb',
  },
};

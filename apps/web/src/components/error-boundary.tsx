import { Component, type ErrorInfo, type ReactNode } from 'react';

/** A screen that throws while rendering (or whose code failed to load) shows the error, not a blank page. */
export class ScreenErrorBoundary extends Component<{ children: ReactNode; resetKey: string }, { error: Error | undefined }> {
  override state: { error: Error | undefined } = { error: undefined };

  static getDerivedStateFromError(error: Error) {
    return { error };
  }

  override componentDidUpdate(previous: { resetKey: string }): void {
    // Navigating elsewhere gives the next screen a fresh start.
    if (previous.resetKey !== this.props.resetKey && this.state.error) this.setState({ error: undefined });
  }

  override componentDidCatch(error: Error, info: ErrorInfo): void {
    console.error(error, info.componentStack);
  }

  override render(): ReactNode {
    if (!this.state.error) return this.props.children;
    return (
      <div className="state error" role="alert">
        <span>This screen failed: {this.state.error.message}</span>
        <button type="button" onClick={() => window.location.reload()}>
          Reload
        </button>
      </div>
    );
  }
}

// The few extension APIs this demo uses (instead of a dependency on @types/chrome).
declare namespace chrome {
  namespace runtime {
    function getURL(path: string): string;
    function sendMessage<T>(message: unknown): Promise<T>;
    const onMessage: {
      addListener(listener: (message: unknown, sender: unknown, respond: (answer: unknown) => void) => boolean | void): void;
    };
  }
  namespace tabs {
    function create(options: { url: string }): Promise<unknown>;
  }
  namespace alarms {
    function create(name: string, options: { periodInMinutes: number }): void;
    const onAlarm: { addListener(listener: () => void): void };
  }
}

// The few extension APIs this demo uses (instead of a dependency on @types/chrome).
declare namespace chrome {
  namespace runtime {
    function getURL(path: string): string;
    function sendMessage<T>(message: unknown): Promise<T>;
    const onMessage: {
      addListener(listener: (message: unknown, sender: unknown, respond: (answer: unknown) => void) => boolean | void): void;
    };
  }
  namespace identity {
    /** `https://<extension id>.chromiumapp.org/<path>`: the redirect Chrome catches for launchWebAuthFlow. */
    function getRedirectURL(path?: string): string;
    /** Opens `url` in a window Chrome controls; resolves with the URL Zoho redirected to. */
    function launchWebAuthFlow(options: { url: string; interactive: boolean }): Promise<string>;
  }
  namespace alarms {
    function create(name: string, options: { periodInMinutes: number }): void;
    const onAlarm: { addListener(listener: () => void): void };
  }
}

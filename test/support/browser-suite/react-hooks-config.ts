/** What test/react-hooks.browser.test.ts hands the hooks page (react-hooks-entry.ts). */

/** A device signed in by the Node side. */
export interface HooksDevice {
  deviceId: string
  access: string
}

/** The server and two devices of one user. */
export interface HooksSuiteConfig {
  url: string
  devices: [HooksDevice, HooksDevice]
}

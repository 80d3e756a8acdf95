/**
 * The library's objects own their alarm: it runs their housekeeping (session sweeps,
 * re-sealing, the idle purge, directory reports), then the subclass's `onAlarm()`. A
 * subclass cannot switch the housekeeping off: the constructor pins the library class's
 * `alarm` on the instance, where it shadows any `alarm()` a subclass declares.
 */
export function pinAlarm(object: object, libraryClass: { prototype: { alarm(): Promise<void> } }): void {
  Object.defineProperty(object, 'alarm', { value: libraryClass.prototype.alarm.bind(object) });
}

/** The parts of @micropython/micropython-webassembly-pyscript (no types shipped) that the worker uses. */
declare module '@micropython/micropython-webassembly-pyscript' {
  export function loadMicroPython(options: {
    stdout?(line: string): void
    stderr?(line: string): void
    heapsize?: number
    pystack?: number
    linebuffer?: boolean
  }): Promise<{
    FS: unknown
    registerJsModule(name: string, module: object): void
    runPython(code: string): unknown
    pyimport(name: string): unknown
  }>
}

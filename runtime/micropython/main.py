# iotctl device app entry point. Ctrl-C (KeyboardInterrupt) still drops to the REPL, so
# `iotctl flash --files-only` can reach the raw REPL; any other failure reboots the board.
import iotctl.app

iotctl.app.main()

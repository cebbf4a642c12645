import Foundation
import GatewayApp

exit(GatewayMain.run(arguments: Array(CommandLine.arguments.dropFirst()), environment: ProcessInfo.processInfo.environment))

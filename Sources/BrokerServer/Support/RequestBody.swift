import Hummingbird
import NIOCore

/// Every JSON or form body the broker accepts is at most this large.
let maximumBodySize = 64 * 1024

extension Request {
    /// Collects the body, refusing more than 64 KiB with 413.
    func collectBody() async throws -> [UInt8] {
        do {
            let buffer = try await body.collect(upTo: maximumBodySize)
            return Array(buffer.readableBytesView)
        } catch let error as HTTPError where error.status == .contentTooLarge {
            throw APIError.payloadTooLarge
        } catch is NIOTooManyBytesError {
            throw APIError.payloadTooLarge
        }
    }

    func jsonObject() async throws -> JSONObjectReader {
        try JSONObjectReader.parse(try await collectBody())
    }
}

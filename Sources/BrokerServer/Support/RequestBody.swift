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

extension Request {
    /// Decodes the body as `T`, strictly (see `StrictJSONDecoder`): unknown fields, wrong types
    /// and missing fields are a 400 naming the field.
    func decode<T: Decodable>(_ type: T.Type) async throws -> T {
        try StrictJSONDecoder().decode(type, from: try await collectBody())
    }
}

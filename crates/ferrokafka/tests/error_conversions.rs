//! `?` works on the producer's errors in a function returning
//! `ferrokafka::Result`, keeping the code, the classes and (for deliveries)
//! whether the record may be in the log.

use ferrokafka::producer::{DeliveryError, PersistenceStatus, ProducerRecord, SendError};
use ferrokafka::{Error, ErrorCode};

fn refused() -> ferrokafka::Result<()> {
    Err(SendError {
        record: ProducerRecord::new("t").value("v"),
        error: Error::new(ErrorCode::QueueFull, "queue.buffering.max.messages reached"),
    })?;
    Ok(())
}

fn failed(status: PersistenceStatus) -> ferrokafka::Result<()> {
    Err(DeliveryError {
        record: None,
        error: Error::new(ErrorCode::MsgTimedOut, "message.timeout.ms expired"),
        status,
    })?;
    Ok(())
}

#[test]
fn send_and_delivery_errors_convert_with_question_mark() {
    let e = refused().unwrap_err();
    assert_eq!(e.code(), ErrorCode::QueueFull);
    assert!(e.is_retriable(), "{e}");
    for status in [
        PersistenceStatus::NotPersisted,
        PersistenceStatus::PossiblyPersisted,
    ] {
        let e = failed(status).unwrap_err();
        assert_eq!(e.code(), ErrorCode::MsgTimedOut);
        assert!(e.message().contains("message.timeout.ms expired"), "{e}");
        assert!(e.message().contains(&status.to_string()), "{e}");
    }
}

//! English.
use super::Msg;

pub(super) fn text(msg: Msg) -> &'static str {
    use Msg::*;
    match msg {
        // Every page
        CityName => "Yukuhashi City",
        ServerTrouble => "Sorry, something went wrong on our side. Please try again in a moment.",
        NotFound => "We could not find that page.",
        Back => "Back",
        // Registration
        FieldRequired => "Please fill in “{field}”.",
        // Chat
        CallTheCity => "To ask by phone, call Yukuhashi City Hall ({number}).",
        // Emergency
        EmergencyHeading => "Emergency information",
        // Notices and surveys
        StopNotices => "Stop receiving notices",
    }
}

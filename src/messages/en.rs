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
        // JMA (alerts made from the Japan Meteorological Agency's documents)
        JmaSpecialWarningTitle => "Emergency warning for Yukuhashi City",
        JmaSpecialWarningBody => {
            "The Japan Meteorological Agency has issued an emergency warning: a danger not seen for decades. Take action now to save your life. (JMA, {time})"
        }
        JmaWarningTitle => "Weather warning for Yukuhashi City",
        JmaWarningBody => {
            "A disaster may happen. Follow the latest information and move to safety early. (JMA, {time})"
        }
        JmaAdvisoryTitle => "Weather advisory for Yukuhashi City",
        JmaAdvisoryBody => "Be careful of possible disasters. (JMA, {time})",
        JmaLandslideTitle => "Landslide alert for Yukuhashi City",
        JmaLandslideBody => {
            "The risk of landslides is very high. If you are near a slope or mountain, evacuate to a safe place now. (JMA, {time})"
        }
        JmaRecordRainTitle => "Record-breaking heavy rain in Yukuhashi City",
        JmaRecordRainBody => {
            "Extremely heavy rain is falling. Stay away from rivers and slopes and protect your life. (JMA, {time})"
        }
        JmaFloodTitle => "River flood forecast for Yukuhashi City",
        JmaFloodBody => {
            "The {river} river may flood. If you live near it, evacuate to a safe place. (JMA, {time})"
        }
        JmaLiftedTitle => "Weather warning lifted (Yukuhashi City)",
        JmaLiftedBody => {
            "At {time} the Japan Meteorological Agency lifted the following for Yukuhashi City: {kinds}."
        }
        JmaCancelledTitle => "Weather information withdrawn (Yukuhashi City)",
        JmaCancelledBody => {
            "The Japan Meteorological Agency withdrew the information sent earlier. (JMA, {time})"
        }
    }
}

//! 한국어 (Korean).
use super::Msg;

pub(super) fn text(msg: Msg) -> &'static str {
    use Msg::*;
    match msg {
        // Every page
        CityName => "유쿠하시시",
        ServerTrouble => "죄송합니다. 문제가 발생했습니다. 잠시 후 다시 시도해 주세요.",
        NotFound => "페이지를 찾을 수 없습니다.",
        Back => "돌아가기",
        // Registration
        FieldRequired => "「{field}」을(를) 입력해 주세요.",
        // Chat
        CallTheCity => "전화 문의는 유쿠하시 시청({number})으로 해 주세요.",
        // Emergency
        EmergencyHeading => "긴급 정보",
        // Notices and surveys
        StopNotices => "알림 수신 중지",
        // JMA (alerts made from the Japan Meteorological Agency's documents)
        JmaSpecialWarningTitle => "유쿠하시시 특별경보",
        JmaSpecialWarningBody => {
            "일본 기상청이 특별경보를 발표했습니다. 지금까지 경험하지 못한 위험입니다. 즉시 생명을 지키는 행동을 하십시오. (기상청 {time})"
        }
        JmaWarningTitle => "유쿠하시시 기상경보",
        JmaWarningBody => {
            "재해가 발생할 수 있습니다. 최신 정보를 확인하고 미리 안전을 확보하십시오. (기상청 {time})"
        }
        JmaAdvisoryTitle => "유쿠하시시 기상주의보",
        JmaAdvisoryBody => "재해에 주의하십시오. (기상청 {time})",
        JmaLandslideTitle => "유쿠하시시 토사재해 경계정보",
        JmaLandslideBody => {
            "산사태 위험이 매우 높습니다. 비탈이나 산 근처에 계신 분은 즉시 안전한 곳으로 대피하십시오. (기상청 {time})"
        }
        JmaRecordRainTitle => "유쿠하시시 기록적 단시간 호우",
        JmaRecordRainBody => {
            "매우 강한 비가 내리고 있습니다. 강과 비탈에 가까이 가지 말고 생명을 지키십시오. (기상청 {time})"
        }
        JmaFloodTitle => "유쿠하시시 하천 홍수예보",
        JmaFloodBody => {
            "{river}이(가) 범람할 우려가 있습니다. 강 근처에 계신 분은 안전한 곳으로 대피하십시오. (기상청 {time})"
        }
        JmaLiftedTitle => "기상경보 해제 (유쿠하시시)",
        JmaLiftedBody => "기상청은 {time}에 유쿠하시시의 다음 정보를 해제했습니다: {kinds}.",
        JmaCancelledTitle => "기상청 정보 취소 (유쿠하시시)",
        JmaCancelledBody => "기상청이 앞서 보낸 정보를 취소했습니다. (기상청 {time})",
    }
}

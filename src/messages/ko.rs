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
        ChooseLanguage => "언어를 선택하세요.\nことばを選んでください。",
        Statement => {
            "유쿠하시시 알림 등록\n거주 지역, 연령대, 관심 분야, 언어를 등록하시면 이 계정으로 맞춤형 시 알림(육아, 돌봄, 쓰레기, 방재, 행사 등)을 보내 드립니다. \
             등록 내용은 알림 대상을 정하는 데만 사용되며 「設定」에서 언제든지 변경·삭제할 수 있습니다. 「配信停止」로 알림을 멈출 수 있습니다(재난 긴급 정보는 전달됩니다).\n동의하고 등록하시겠습니까?"
        }
        Agree => "동의하고 등록",
        Decline => "등록하지 않음",
        Declined => {
            "등록하지 않았습니다. 시청에 대한 질문은 언제든지 메시지로 보내 주세요. 「設定」에서 언제든지 등록할 수 있습니다."
        }
        ChooseDistrict => "거주하시는 지역(초등학교 학군)을 선택하세요.",
        NextPage => "다음",
        ChooseAge => "연령대를 선택하세요.",
        AgeUnder20 => "20세 미만",
        NoAnswer => "답하지 않음",
        ChooseInterests => {
            "관심 있는 분야를 선택하세요(여러 개 가능). 다 고르면 「완료」를 누르세요."
        }
        DoneButton => "완료",
        Completed => "등록이 완료되었습니다. 감사합니다.",
        CurrentSettings => "현재 설정",
        DistrictLabel => "지역",
        AgeLabel => "연령대",
        InterestsLabel => "관심 분야",
        LanguageLabel => "언어",
        NoticesLabel => "알림",
        NoticesOn => "받음",
        NoticesPaused => "중지됨(긴급 정보는 전달됨)",
        NotSet => "미설정",
        ChangeDistrict => "지역 변경",
        ChangeAge => "연령대 변경",
        ChangeInterests => "관심 분야 변경",
        ChangeLanguage => "언어 / 言語",
        Pause => "알림 중지",
        Resume => "알림 재개",
        MoreSettings => "상세 설정",
        PausedNow => {
            "알림을 중지했습니다. 재난 긴급 정보는 계속 전달됩니다. 「配信再開」로 다시 받을 수 있습니다."
        }
        ResumedNow => "알림을 다시 받습니다.",
        SettingsHint => "설정을 바꾸려면 「設定」을 보내 주세요.",
        PageTitle => "유쿠하시시 알림 받기",
        WebIntro => {
            "거주 지역, 연령대, 관심 분야, 언어를 등록하시면 이메일 또는 이 기기의 알림으로 맞춤형 시 알림을 보내 드립니다. 등록 내용은 알림 대상을 정하는 데만 사용되며 언제든지 변경·삭제할 수 있습니다. 재난 긴급 정보도 전달됩니다."
        }
        EmailLabel => "이메일 주소",
        PushLabel => "또는 이 기기에서 알림 받기",
        PushButton => "알림 허용",
        PushReady => "이 기기에서 알림을 받을 수 있습니다.",
        BirthYearLabel => "출생 연도(선택, 연령대 대신)",
        ConsentLabel => "위 설명에 동의합니다",
        SubmitButton => "등록",
        FixErrors => "입력 내용을 확인해 주세요.",
        CheckEmail => "확인 메일을 보냈습니다. 7일 이내에 메일의 링크를 열면 등록이 완료됩니다.",
        Registered => "등록되었습니다.",
        Confirmed => "이메일 주소가 확인되어 등록이 완료되었습니다.",
        InvalidLink => "이 링크는 유효하지 않습니다.",
        ExpiredLink => "이 링크는 만료되었습니다. 다시 등록해 주세요.",
        PrefsTitle => "알림 설정",
        Topics => "받을 알림 분야",
        Quiet => "알림을 받지 않을 시간대",
        QuietNone => "설정 안 함",
        PausedLabel => "알림 중지(긴급 정보는 전달됨)",
        SaveButton => "저장",
        Saved => "저장되었습니다.",
        DeleteAll => "내 등록 정보 모두 삭제",
        Deleted => "등록 정보가 모두 삭제되었습니다.",
        ConfirmSubject => "[유쿠하시시] 알림 등록 확인",
        ConfirmBody => {
            "유쿠하시시 알림 등록 신청을 받았습니다. 7일 이내에 다음 링크를 열면 등록이 완료됩니다. 본인이 아니라면 이 메일을 무시하세요."
        }
        ChooseOne => "선택하세요",
        ChannelNeeded => "이메일 주소를 입력하거나 이 기기의 알림을 허용해 주세요.",
        AgeTwenties => "20대",
        AgeThirties => "30대",
        AgeForties => "40대",
        AgeFifties => "50대",
        AgeSixties => "60대",
        AgeSeventies => "70대",
        AgeEightyPlus => "80세 이상",
        DistrictInvalid => "목록에서 거주 지역을 선택해 주세요.",
        BirthYearInvalid => "출생 연도는 1900년부터 {latest}년 사이로 입력해 주세요(예: 1985).",
        AgeBandInvalid => "목록에서 연령대를 선택해 주세요.",
        InterestInvalid => "관심 분야는 목록에서 선택해 주세요.",
        LanguageInvalid => "목록에서 언어를 선택해 주세요.",
        EmailInvalid => "이메일 주소 형식이 올바르지 않습니다. name@example.jp 처럼 입력해 주세요.",
        PushInvalid => {
            "이 기기의 알림을 등록하지 못했습니다. 「알림 허용」을 다시 누르거나 이메일 주소로 등록해 주세요."
        }
        ConsentNeeded => "등록하려면 위 설명을 읽고 동의란에 체크해 주세요.",
        QuietInvalid => "알림을 받지 않을 시간대는 「22:00」처럼 시각으로 입력해 주세요.",
        SentTo => "{email}(으)로 확인 메일을 보냈습니다.",
        SentToNext => {
            "7일 이내에 메일의 링크를 열면 등록이 완료되고 알림이 전달됩니다. 메일이 오지 않으면 스팸 메일함을 확인하거나 주소를 고쳐 다시 등록해 주세요."
        }
        ChangeAddress => "이메일 주소 고치기",
        AskInChat => "채팅으로 시에 질문하기",
        ToCitySite => "유쿠하시시 홈페이지로",
        RegisteredNext => {
            "이제 이 기기로 알림이 전달됩니다. 설정 변경이나 알림 중지는 받은 알림의 설정 링크에서 언제든지 할 수 있습니다."
        }
        ConfirmedNext => {
            "앞으로 맞춤형 시 알림이 이메일로 전달됩니다. 설정 변경이나 알림 중지는 받은 메일의 설정 링크에서 언제든지 할 수 있습니다."
        }
        PushDenied => {
            "이 사이트의 알림이 차단되어 있습니다. 브라우저(주소창 옆 자물쇠 아이콘 또는 브라우저 설정)에서 알림을 허용한 뒤 다시 눌러 주세요. 이메일 주소로도 등록할 수 있습니다."
        }
        PushUnsupported => "이 브라우저는 알림을 지원하지 않습니다. 이메일 주소로 등록해 주세요.",
        PushFailed => {
            "알림 등록에 실패했습니다. 잠시 후 다시 누르거나 이메일 주소로 등록해 주세요."
        }
        // Chat
        CallTheCity => "전화 문의는 유쿠하시 시청({number})으로 해 주세요.",
        ChatTitle => "유쿠하시시 자주 묻는 질문 채팅",
        ChatIntro => "시청에 대한 질문에 자주 묻는 질문으로 답해 드립니다(24시간).",
        ChatWelcome => {
            "안녕하세요. 유쿠하시시 자주 묻는 질문 채팅입니다. ‘주민표를 발급받고 싶다’, ‘대형 쓰레기 버리는 법’처럼 알고 싶은 것을 입력해 주세요."
        }
        ChatLogLabel => "대화 기록",
        ChatQuestionLabel => "질문",
        ChatPlaceholder => "예: 주민표 발급",
        ChatSend => "보내기",
        ChatConnecting => "연결 중…",
        ChatIdle => "한동안 사용하지 않아 연결을 멈췄습니다. 질문을 보내면 다시 시작합니다.",
        ChatReconnecting => "연결이 끊어졌습니다. 다시 연결하는 중…",
        ChatCannotConnect => {
            "지금은 연결할 수 없습니다(혼잡하거나 열린 화면이 너무 많습니다). 잠시 후 자동으로 다시 연결합니다."
        }
        CityHours => "평일 8:30~17:15",
        ChatNote => {
            "개별 상담이나 급한 경우에는 유쿠하시시청(대표 {number}, {hours})으로 전화해 주세요."
        }
        Helpful => "도움이 됨",
        NotHelpful => "도움이 안 됨",
        FeedbackQuestion => "이 답변이 도움이 되었습니까",
        NoneOfThese => "해당 없음",
        ChoicesLabel => "선택지",
        WhichOne => "다음 중 어느 것이 질문과 가장 가깝습니까? 하나를 선택해 주세요.",
        Department => "담당: {department}",
        MoreInfo => "자세한 정보(시 홈페이지)",
        NoticeHeading => "알림",
        SafetyLabel => "안부 알리기",
        AnswerInJapanese => "이 답변은 일본어로만 제공됩니다.",
        NoAnswerFound => "죄송합니다. 질문에 맞는 답변을 찾지 못했습니다.",
        NextStepsHeading => "다음 방법을 시도해 보세요.",
        NextRephrase => "다른 말로 짧게 다시 질문하기(예: ‘아동수당 신청’)",
        NextCall => "전화로 문의: 유쿠하시시청 {number}({hours})",
        NextContactForm => "시 홈페이지에서 문의하기",
        ThanksHelpful => "의견 감사합니다. 도움이 되어 기쁩니다.",
        ThanksNotHelpful => "의견 감사합니다. 답변 개선에 활용하겠습니다.",
        TextPlease => "질문은 글자로 보내 주세요. 예: ‘주민표 발급’",
        QuestionEmpty => "질문을 입력해 주세요.",
        QuestionTooLong => "질문은 {max}자 이내로 입력해 주세요.",
        TooManyMessages => {
            "짧은 시간에 메시지가 너무 많이 전송되었습니다. {seconds}초 정도 기다린 후 다시 시도해 주세요."
        }
        LineGreeting => {
            "유쿠하시시를 친구로 추가해 주셔서 감사합니다.\n주민표·호적, 쓰레기 배출, 육아, 돌봄, 세금, 방재 등 시청에 대한 질문에 24시간 답해 드립니다. 알고 싶은 것을 메시지로 보내 주세요.\n연령대, 거주 지역, 관심 분야를 등록하시면 맞춤형 시 알림과 재난 긴급 정보를 보내 드릴 수 있습니다. 이어지는 버튼이나 「設定」을 보내 언제든지 등록할 수 있습니다.\n개별 상담이나 급한 경우에는 유쿠하시시청(대표 {number})으로 전화해 주세요."
        }
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
